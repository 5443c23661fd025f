"""The MNIST subset shipped inside the package: its arrays, its checksum, and its rebuild from the official files."""
import hashlib
import io

import numpy as np
import pytest
import torch

from vaekit.cli import main
from vaekit.data import DataError, load_dataset, read_idx
from vaekit.data import mnist_subset
from vaekit.data.datasets import IDX_FILES
from vaekit.data.mnist_subset import SHA256, SIZES, SUBSET_FILE, draw_subset, load_mnist_subset, npz_bytes


@pytest.mark.parametrize("split", ["train", "test"])
def test_the_subset_loads_as_labelled_28x28_grey_images(split):
    data = load_dataset("mnist-subset", split)
    assert data.images.shape == (SIZES[split], 1, 28, 28) and data.image_shape == (1, 28, 28)
    assert data.images.dtype == torch.float32 and data.labels.dtype == torch.int64
    assert data.images.min() == 0 and data.images.max() == 1
    assert 0.1 < data.images.mean() < 0.2                     # MNIST's mean grey level is 0.13
    counts = data.labels.bincount(minlength=10)
    assert len(counts) == 10 and counts.min() > SIZES[split] // 20   # every digit, none rare
    assert data.name == f"mnist-subset-{split}"
    images, labels = load_mnist_subset(split)
    assert images.dtype == labels.dtype == np.uint8 and images.shape == (SIZES[split], 28, 28)
    assert torch.equal(data.images, torch.from_numpy(images).unsqueeze(1).float() / 255)
    assert torch.equal(data.labels, torch.from_numpy(labels).long())


def test_the_subset_is_the_official_rows_it_names(require_shared_data):
    root = require_shared_data("mnist")
    with np.load(SUBSET_FILE) as archive:
        for split, (images_file, labels_file) in IDX_FILES.items():
            indices = archive[f"{split}_indices"].astype(np.int64)
            assert len(np.unique(indices)) == SIZES[split] and (np.diff(indices) > 0).all()
            assert np.array_equal(archive[f"{split}_images"], read_idx(root / "mnist" / images_file)[indices])
            assert np.array_equal(archive[f"{split}_labels"], read_idx(root / "mnist" / labels_file)[indices])


def test_the_file_is_rebuilt_byte_for_byte_from_the_official_files(require_shared_data, capsys):
    root = require_shared_data("mnist")
    assert npz_bytes(draw_subset(root, download=False)) == SUBSET_FILE.read_bytes()
    assert hashlib.sha256(SUBSET_FILE.read_bytes()).hexdigest() == SHA256
    assert mnist_subset.main(["--root", str(root)]) == 0
    assert "byte-identical" in capsys.readouterr().out


def test_npz_bytes_is_an_npz_and_does_not_depend_on_the_time():
    arrays = {"a": np.arange(6, dtype=np.uint8).reshape(2, 3), "b": np.array([7], np.uint16)}
    first = npz_bytes(arrays)
    assert first == npz_bytes(arrays)
    with np.load(io.BytesIO(first)) as archive:
        assert archive.files == ["a", "b"] and all(np.array_equal(archive[k], v) for k, v in arrays.items())


def test_a_damaged_file_is_refused_with_both_checksums(tmp_path):
    damaged = tmp_path / "mnist_subset.npz"
    raw = bytearray(SUBSET_FILE.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    with pytest.raises(DataError) as error:
        load_mnist_subset("train", damaged)
    message = str(error.value)
    actual = hashlib.sha256(bytes(raw)).hexdigest()
    assert "\n" not in message and str(damaged) in message and SHA256 in message and actual in message
    with pytest.raises(DataError, match=f"^{tmp_path / 'absent.npz'} is missing: .*reinstall vaekit"):
        load_mnist_subset("train", tmp_path / "absent.npz")


def test_a_checksum_mismatch_ends_training_with_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(mnist_subset, "SHA256", "0" * 64)      # the shipped file no longer matches
    monkeypatch.chdir(tmp_path)
    assert main(["train", "mnist_subset_vae", "train.epochs=1", "run_dir=run"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"vaekit train: error: {SUBSET_FILE} has sha256 ") and "0" * 64 in error
    assert not (tmp_path / "run").exists()
