"""A small MNIST shipped inside the package (``data.name: mnist-subset``): 5,000 training and 1,000
test images of 28x28 with their labels, so a real model trains with no download and no data folder.

MNIST is by LeCun, Cortes & Burges (http://yann.lecun.com/exdb/mnist/); ``embedded/README.md``
beside the file names its source and licence. The subset is drawn from the four official IDX files
(checked against their md5s): for each split, ``numpy.random.default_rng(0).choice(N, size,
replace=False)`` picks ``size`` of its N images, kept in file order (the test draw spans both halves
of the official test set, the cleaner first 5,000 and the harder last 5,000).

``embedded/mnist_subset.npz`` holds uint8 arrays ``{split}_images`` (n, 28, 28), ``{split}_labels``
(n,) and ``{split}_indices`` (n,), the rows taken from the official file. It is the .npz of
``numpy.savez_compressed`` with every zip entry dated 1980-01-01 (``npz_bytes``), so the same
arrays give the same bytes and the file can be rebuilt and compared byte for byte:

    python -m vaekit.data.mnist_subset --root ../shared/data          # rebuild and compare
    python -m vaekit.data.mnist_subset --root ../shared/data --write  # rebuild into the package
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from vaekit.data.cache import DataError, data_root, fetch, file_digest
from vaekit.data.idx import read_idx

SUBSET_FILE = Path(__file__).resolve().with_name("embedded") / "mnist_subset.npz"
SHA256 = "dc320669370f7a38e505695cc763348a8919d7cb2a742b7a57e2c6aacb9d8ecd"
SIZES = {"train": 5000, "test": 1000}   # split -> images drawn from the official split
SEED = 0
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)       # the earliest date a zip entry can hold


def load_mnist_subset(split: str, path: str | os.PathLike = SUBSET_FILE) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28) and labels (n,), both uint8, of one split, once the file's sha256 is SHA256."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing: the MNIST subset ships inside the vaekit package; reinstall vaekit.")
    digest = file_digest(path, "sha256")
    if digest != SHA256:
        raise DataError(f"{path} has sha256 {digest}, expected {SHA256}: the MNIST subset shipped with vaekit "
                        f"is damaged; reinstall vaekit or rebuild it with `python -m vaekit.data.mnist_subset "
                        f"--write` from the official MNIST files.")
    with np.load(path) as archive:
        return archive[f"{split}_images"], archive[f"{split}_labels"]


def draw_subset(root: str | os.PathLike | None = None, download: bool = True) -> dict[str, np.ndarray]:
    """The arrays of the subset, drawn from the official MNIST files under ``data_root(root)``/mnist."""
    from vaekit.data.datasets import IDX_FILES, MNIST_MD5, MNIST_URL  # here: datasets imports this module

    arrays = {}
    for split, size in SIZES.items():
        images, labels = (read_idx(fetch(MNIST_URL + name, data_root(root) / "mnist" / name, md5=MNIST_MD5[name],
                                         download=download)) for name in IDX_FILES[split])
        indices = np.sort(np.random.default_rng(SEED).choice(len(images), size, replace=False))
        arrays |= {f"{split}_images": images[indices], f"{split}_labels": labels[indices],
                   f"{split}_indices": indices.astype(np.uint16)}
    return arrays


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz like ``numpy.savez_compressed(file, **arrays)`` (one deflated .npy per array, read by
    ``numpy.load``), but with fixed entry dates (numpy stamps the current time) and deflate level 9, so
    equal arrays give equal bytes (for one zlib version)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            entry = io.BytesIO()
            np.lib.format.write_array(entry, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, entry.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Rebuild the subset from the official files and compare it with the shipped file (or --write it)."""
    parser = argparse.ArgumentParser(prog="python -m vaekit.data.mnist_subset", description=main.__doc__)
    parser.add_argument("--root", help="data folder holding mnist/ (default: $VAEKIT_DATA or ~/.cache/vaekit)")
    parser.add_argument("--write", action="store_true", help=f"write the rebuilt file to {SUBSET_FILE}")
    args = parser.parse_args(argv)
    arrays = draw_subset(args.root)
    rebuilt = npz_bytes(arrays)
    if args.write:
        SUBSET_FILE.write_bytes(rebuilt)
        print(f"written: {SUBSET_FILE} ({len(rebuilt)} bytes, sha256 {file_digest(SUBSET_FILE, 'sha256')})")
        return 0
    if SUBSET_FILE.read_bytes() == rebuilt:
        print(f"{SUBSET_FILE}: byte-identical to the subset rebuilt from the official files ({len(rebuilt)} bytes)")
        return 0
    with np.load(SUBSET_FILE) as archive:
        same = list(archive.files) == list(arrays) and all(
            np.array_equal(archive[name], array) for name, array in arrays.items())
    print(f"{SUBSET_FILE}: differs from the rebuilt subset; its arrays are {'equal' if same else 'NOT equal'}"
          f"{' (the zip bytes differ: another zlib?)' if same else ''}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
