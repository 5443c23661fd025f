import hashlib
import shutil

import numpy as np
import pytest
import torch

from vaekit.data import DATASETS, DataError, load_dataset
from vaekit.data import binarized_mnist
from vaekit.data.datasets import MNIST_MD5, MNIST_URL

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize(
    "name, split, label_counts",
    [
        ("mnist", "train", MNIST_TRAIN_COUNTS),
        ("mnist", "test", MNIST_TEST_COUNTS),
        ("fashion-mnist", "train", [6000] * 10),
        ("fashion-mnist", "test", [1000] * 10),
    ],
)
def test_idx_data_sets_from_the_shared_copy(require_shared_data, monkeypatch, name, split, label_counts):
    monkeypatch.setenv("VAEKIT_DATA", str(require_shared_data(name)))
    data = load_dataset(name, split, download=False)
    assert data.images.shape == (sum(label_counts), 1, 28, 28) and data.image_shape == (1, 28, 28)
    assert data.images.dtype == torch.float32 and data.labels.dtype == torch.int64
    assert data.images.min() == 0 and data.images.max() == 1
    assert 0.1 < data.images.mean() < 0.4
    assert data.labels.bincount().tolist() == label_counts
    assert data.name == f"{name}-{split}"


@pytest.mark.parametrize("split, size", [("train", 50000), ("valid", 10000), ("test", 10000)])
def test_binarized_mnist_from_the_shared_copy(require_shared_data, split, size):
    data = load_dataset("binarized-mnist", split, root=require_shared_data("binarized-mnist"), download=False)
    assert data.images.shape == (size, 1, 28, 28) and data.labels is None
    assert ((data.images == 0) | (data.images == 1)).all()
    assert 0.12 < data.images.mean() < 0.14


def test_file_with_wrong_checksum_is_rejected(require_shared_data, tmp_path):
    fashion_labels = require_shared_data("fashion-mnist") / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    target = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    target.parent.mkdir()
    shutil.copy(require_shared_data("mnist") / "mnist" / "t10k-images-idx3-ubyte.gz", target.parent)
    shutil.copy(fashion_labels, target)  # a valid IDX file, but not MNIST's
    with pytest.raises(DataError) as error:
        load_dataset("mnist", "test", root=tmp_path, download=False)
    message = str(error.value)
    actual = hashlib.md5(target.read_bytes()).hexdigest()
    assert str(target) in message and MNIST_MD5[target.name] in message and actual in message


@pytest.mark.parametrize("download", [False, True])
def test_missing_file_names_url_and_path(tmp_path, fake_network, download):
    with pytest.raises(DataError) as error:
        load_dataset("mnist", "train", root=tmp_path, download=download)
    message = str(error.value)
    assert MNIST_URL + "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte.gz") in message
    assert not (tmp_path / "mnist").exists() or list((tmp_path / "mnist").iterdir()) == []


def test_download_fills_the_cache(require_shared_data, tmp_path, fake_network):
    shared = require_shared_data("mnist") / "mnist"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        fake_network.serve(MNIST_URL + name, (shared / name).read_bytes())
    downloaded = load_dataset("mnist", "test", root=tmp_path)
    reference = load_dataset("mnist", "test", root=shared.parent, download=False)
    assert torch.equal(downloaded.images, reference.images) and torch.equal(downloaded.labels, reference.labels)
    assert sorted(path.name for path in (tmp_path / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]


def _amat(array: np.ndarray) -> bytes:
    return "".join(" ".join(map(str, row)) + "\n" for row in array).encode()


@pytest.fixture
def small_binarized_mnist(monkeypatch, fake_network):
    """Three tiny {0,1} splits served as .amat files, accepted by patched digests."""
    rng = np.random.default_rng(0)
    arrays = {split: (rng.random((size, 784)) < 0.2).astype(np.uint8) for split, size in zip(binarized_mnist.SPLITS, (6, 3, 2))}
    digests = {split: hashlib.sha256(array.tobytes()).hexdigest() for split, array in arrays.items()}
    monkeypatch.setattr(binarized_mnist, "ARRAY_SHA256", digests)
    for split, array in arrays.items():
        fake_network.serve(binarized_mnist.URL.format(split=split), _amat(array))
    return arrays


def test_binarized_mnist_is_built_from_amat_files(tmp_path, small_binarized_mnist):
    for split, array in small_binarized_mnist.items():
        data = load_dataset("binarized-mnist", split, root=tmp_path)
        assert torch.equal(data.images.reshape(len(array), 784), torch.from_numpy(array).float())
    assert [path.name for path in (tmp_path / "binarized-mnist").iterdir()] == ["binarized_mnist.npz"]


def test_binarized_mnist_rejects_wrong_content(tmp_path, small_binarized_mnist):
    load_dataset("binarized-mnist", root=tmp_path)
    path = tmp_path / "binarized-mnist" / "binarized_mnist.npz"
    tampered = dict(small_binarized_mnist, valid=1 - small_binarized_mnist["valid"])
    np.savez_compressed(path, **tampered)
    with pytest.raises(DataError, match=f"valid.*expected {binarized_mnist.ARRAY_SHA256['valid']}"):
        load_dataset("binarized-mnist", "valid", root=tmp_path)


def test_binarized_mnist_rejects_a_malformed_amat_file(tmp_path, small_binarized_mnist, fake_network):
    fake_network.serve(binarized_mnist.URL.format(split="train"), b"0 1 0.5\n")
    with pytest.raises(DataError, match="expected lines of 784 values 0 or 1"):
        load_dataset("binarized-mnist", root=tmp_path)
    assert not (tmp_path / "binarized-mnist" / "binarized_mnist.npz").exists()


def test_binarized_mnist_missing_without_download(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("binarized-mnist", root=tmp_path, download=False)
    message = str(error.value)
    assert "binarized_mnist_{train,valid,test}.amat" in message
    assert str(tmp_path / "binarized-mnist" / "binarized_mnist.npz") in message


def test_digits_offline_default():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert train.images.shape == (1500, 1, 8, 8) and test.images.shape == (297, 1, 8, 8)
    assert train.images.min() == 0 and train.images.max() == 1
    assert train.labels.bincount().min() > 120
    assert torch.equal(load_dataset("digits").images, train.images)
    all_images = torch.cat([train.images, test.images]).flatten(1)
    assert torch.unique(all_images, dim=0).shape[0] > 1790  # train and test do not repeat images


def test_unknown_name_and_split():
    with pytest.raises(DataError, match="expected one of " + ", ".join(DATASETS)):
        load_dataset("cifar-100")
    with pytest.raises(DataError, match=r"splits \('train', 'test'\).*'valid'"):
        load_dataset("mnist", "valid")


def test_user_files_by_path(tmp_path):
    np.savez(tmp_path / "pair.npz", train=np.zeros((4, 5, 5), np.uint8), test=np.ones((2, 5, 5), np.uint8))
    assert load_dataset(str(tmp_path / "pair.npz"), "test").images.shape == (2, 1, 5, 5)
    np.savez(tmp_path / "single.npz", np.zeros((3, 16), np.uint8))
    assert load_dataset(str(tmp_path / "single.npz"), "test").images.shape == (3, 1, 4, 4)
    np.save(tmp_path / "plain.npy", np.zeros((3, 6, 6), np.float32))
    assert load_dataset(str(tmp_path / "plain.npy"), "whatever").images.shape == (3, 1, 6, 6)
