"""Binarized MNIST of Larochelle & Murray (2011), the fixed {0, 1} sample of MNIST ("static MNIST")
used by most VAE likelihood tables: 50,000 train / 10,000 valid / 10,000 test images of 28x28.

The cache holds `binarized_mnist.npz` with uint8 arrays train, valid, test of shape (N, 784), rows
in row-major order. Where it is absent, it is built from the three official .amat text files.
"""
from __future__ import annotations

import hashlib
import zipfile
import zlib
from pathlib import Path

import numpy as np

from vaekit.atomic import atomic_write
from vaekit.data.cache import DataError, fetch, file_digest, missing_file_message

URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/binarized_mnist_{split}.amat"
FILE_NAME = "binarized_mnist.npz"
SPLITS = ("train", "valid", "test")
SHA256 = "7a049ae3a0d88e964af4b41bbdb14e4303595e1c5de65f8bd2455cdcebb3514b"  # of the published .npz
# sha256 of each array's bytes in C order: checks an .npz built here, whose zip bytes depend on zlib.
ARRAY_SHA256 = {
    "train": "43490d4d6ac9002727af4426d8748609fdb7e4094fa65ad8d681ea60082a7a5a",
    "valid": "069b4f0beb389b776478c3e872b4df71c95ac4be64d7cbe6d32e24ebac8e6d5e",
    "test": "ca0294c3b8d984c7a1dc891015a8eea6f37bae59a34e35ea0fc8c47110a8dd86",
}
PIXELS = 784


def load_binarized_mnist(split: str, folder: Path, download: bool) -> np.ndarray:
    """The verified (N, 784) uint8 array of one split from `folder`/binarized_mnist.npz."""
    path = folder / FILE_NAME
    if not path.exists():
        if not download:
            urls = URL.format(split="{train,valid,test}")
            message = missing_file_message(path, urls, "download=False")
            raise DataError(f"{message} With download=True, vaekit builds it from the three .amat files.")
        _build_npz(path)
    if file_digest(path, "sha256") == SHA256:
        with np.load(path) as archive:
            return archive[split]
    try:
        with np.load(path) as archive:
            array = archive[split]
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError) as error:
        message = f"{path} cannot be read as binarized MNIST ({error}); delete it to build it again."
        raise DataError(message) from error
    return _checked(array, split, f"{path}[{split!r}]", "delete it to build it again")


def parse_amat(path: Path) -> np.ndarray:
    """Parse an .amat file, one image a line of 784 space-separated 0/1, into (N, 784) uint8."""
    raw = np.frombuffer(path.read_bytes(), np.uint8)
    is_digit = (raw == ord("0")) | (raw == ord("1"))
    is_space = np.isin(raw, np.frombuffer(b" \t\r\n", np.uint8))
    if not (is_digit | is_space).all() or (is_digit[1:] & is_digit[:-1]).any() or is_digit.sum() % PIXELS:
        raise DataError(f"{path}: expected lines of {PIXELS} values 0 or 1 separated by spaces.")
    return (raw[is_digit] - ord("0")).reshape(-1, PIXELS)


def _build_npz(path: Path) -> None:
    """Download the three .amat files, check their arrays, write the .npz atomically, drop the .amat files."""
    arrays = {}
    for split in SPLITS:
        amat = fetch(URL.format(split=split), path.with_name(f"binarized_mnist_{split}.amat"))
        arrays[split] = _checked(parse_amat(amat), split, str(amat), "delete it to download it again")
    with atomic_write(path) as file:
        np.savez_compressed(file, **arrays)
    for split in SPLITS:
        path.with_name(f"binarized_mnist_{split}.amat").unlink()


def _checked(array: np.ndarray, split: str, source: str, advice: str) -> np.ndarray:
    digest = hashlib.sha256(array.tobytes()).hexdigest()
    if digest != ARRAY_SHA256[split]:
        raise DataError(
            f"{source} is not the published binarized MNIST {split} split: its array has sha256 "
            f"{digest}, expected {ARRAY_SHA256[split]}; {advice}."
        )
    return array
