"""Built-in data sets by name, or a user's .npy/.npz file, image folder or .txt file of sentences by path.

The cache under `data_root(root)` mirrors the official files:
`mnist/<IDX .gz files>`, `fashion-mnist/<IDX .gz files>`, `binarized-mnist/binarized_mnist.npz`,
`ptb/ptb.{train,valid,test}.txt` (text: see `vaekit.data.text`),
`dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz` (see `vaekit.data.dsprites`).
`mnist-subset` (see `vaekit.data.mnist_subset`) and `digits` ship with the package and need no cache.
"""
from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np
import torch

from vaekit.data.binarized_mnist import load_binarized_mnist
from vaekit.data.cache import DataError, data_root, fetch
from vaekit.data.dsprites import DSprites, load_dsprites, official_path, split_indices as dsprites_split_indices
from vaekit.data.idx import read_idx
from vaekit.data.image_data import ImageData
from vaekit.data.mnist_subset import load_mnist_subset
from vaekit.data.text import TextData, load_text
from vaekit.data.user_data import load_array_file, load_image_folder, npz_keys

__all__ = ["DATASETS", "ImageData", "load_dataset"]

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
IDX_FILES = {  # split -> (images, labels); the same names for MNIST and Fashion-MNIST
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
DIGITS_SEED = 0
DIGITS_TRAIN_SIZE = 1500


def load_dataset(
    name: str, split: str = "train", root: str | os.PathLike | None = None, download: bool = True
) -> ImageData | TextData:
    """Load a built-in data set (see DATASETS) or a .npy/.npz file, image folder or .txt file by path.

    For an .npz file the array named `split` is used if present, else its only array. Text comes
    with the default rules of `vaekit.data.text.load_text` (which takes max_length and a vocabulary).
    """
    if name in _LOADERS:
        loader, splits = _LOADERS[name]
        if split not in splits:
            raise DataError(f"{name} has the splits {splits}; got split={split!r}.")
        return loader(split, data_root(root), download)
    path = Path(name).expanduser()
    if path.is_dir():
        return load_image_folder(path)
    if path.is_file() and path.suffix == ".npz":
        return load_array_file(path, split if split in npz_keys(path) else None)
    if path.is_file() and path.suffix == ".npy":
        return load_array_file(path)
    if path.is_file() and path.suffix == ".txt":
        return load_text(str(path), split)
    raise DataError(
        f"Unknown data set {name!r}: expected one of {', '.join(DATASETS)}, "
        f"or the path of a .npy/.npz file, of a folder of images or of a .txt file of sentences."
    )


def _load_idx_set(
    name: str, base_url: str, md5: dict[str, str], split: str, root: Path, download: bool
) -> ImageData:
    """MNIST-style data: 28x28 grey images as uint8 IDX, labels 0..9 as IDX."""
    images_file, labels_file = (
        fetch(base_url + file, root / name / file, md5=md5[file], download=download)
        for file in IDX_FILES[split]
    )
    return _grey_images(read_idx(images_file), read_idx(labels_file), f"{name}-{split}")


def _grey_images(images: np.ndarray, labels: np.ndarray, name: str) -> ImageData:
    """uint8 images (N, H, W) and labels (N,) as ImageData: grey levels in [0, 1], shape (N, 1, H, W)."""
    return ImageData(torch.from_numpy(images).unsqueeze(1).float().div_(255), torch.from_numpy(labels).long(), name)


def _load_binarized(split: str, root: Path, download: bool) -> ImageData:
    array = load_binarized_mnist(split, root / "binarized-mnist", download)  # (N, 784) uint8 in {0, 1}
    images = torch.from_numpy(array.reshape(-1, 1, 28, 28)).float()
    return ImageData(images, None, f"binarized-mnist-{split}")


def _load_mnist_subset(split: str, root: Path, download: bool) -> ImageData:
    """The 5,000 + 1,000 MNIST images shipped inside the package, grey levels as for "mnist"."""
    return _grey_images(*load_mnist_subset(split), f"mnist-subset-{split}")


def _load_digits(split: str, root: Path, download: bool) -> ImageData:
    """scikit-learn's 8x8 digits (1797 images, grey levels 0..16), split by a fixed permutation."""
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes about a second to import

    digits = load_digits()
    order = np.random.default_rng(DIGITS_SEED).permutation(len(digits.images))
    index = order[:DIGITS_TRAIN_SIZE] if split == "train" else order[DIGITS_TRAIN_SIZE:]
    images = torch.from_numpy(digits.images[index] / 16).float().unsqueeze(1)  # (N, 1, 8, 8)
    return ImageData(images, torch.from_numpy(digits.target[index]).long(), f"digits-{split}")


def _load_dsprites(source: str, split: str, root: Path, download: bool) -> ImageData:
    """dSprites images (N, 1, 64, 64) in {0, 1} of a fixed random subset (`dsprites.split_indices`:
    60,000 train, 10,000 test); labels are the images' official indices, whose six factor classes
    `dsprites.factors_from_index` gives. `source` "official" reads (or downloads) the official file;
    "auto" (the name "dsprites") reads it when it is in the cache and renders the procedural set otherwise."""
    official = source == "official" or official_path(root).exists()
    data = load_dsprites(root, download) if official else DSprites.procedural()
    index = dsprites_split_indices(split)
    images = torch.from_numpy(data.images_at(index)).unsqueeze(1).float()
    name = "dsprites" if official else "dsprites-procedural"
    return ImageData(images, torch.from_numpy(index), f"{name}-{split}")


_LOADERS = {  # name -> (loader(split, root, download), splits)
    "mnist": (partial(_load_idx_set, "mnist", MNIST_URL, MNIST_MD5), tuple(IDX_FILES)),
    "fashion-mnist": (
        partial(_load_idx_set, "fashion-mnist", FASHION_MNIST_URL, FASHION_MNIST_MD5),
        tuple(IDX_FILES),
    ),
    "binarized-mnist": (_load_binarized, ("train", "valid", "test")),
    "mnist-subset": (_load_mnist_subset, tuple(IDX_FILES)),
    "digits": (_load_digits, ("train", "test")),
    "dsprites": (partial(_load_dsprites, "auto"), ("train", "test")),
    "dsprites-official": (partial(_load_dsprites, "official"), ("train", "test")),
    "ptb": (lambda split, root, download: load_text("ptb", split, root, download), ("train", "valid", "test")),
}
DATASETS = tuple(_LOADERS)
