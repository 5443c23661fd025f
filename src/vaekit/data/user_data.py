"""Your own images: a .npy/.npz array or a folder of image files, validated into an ImageData."""
from __future__ import annotations

import math
import os
import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vaekit.data.cache import DataError
from vaekit.data.image_data import ImageData

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
_SHAPES = "(N, H, W), (N, H, W, C), (N, C, H, W) with C in {1, 3}, or (N, D) with D a perfect square"
_NUMPY_READ_ERRORS = (ValueError, OSError, EOFError, MemoryError, zipfile.BadZipFile, zlib.error,
                      pickle.UnpicklingError)
_EXPECTED = "expected numeric arrays written by numpy.save/savez (no Python objects, nothing pickled)"


def as_image_tensor(array, source: str) -> torch.Tensor:
    """Validate an array of images and return it as float32 (N, C, H, W) in [0, 1].

    uint8 is divided by 255; other numbers must already lie in [0, 1]. `source` names the
    origin (a file) in every error message.
    """
    array = np.asarray(array)
    if array.size == 0:
        raise DataError(f"{source}: the array is empty (shape {array.shape}); expected at least one image.")
    if array.dtype.kind not in "buif":
        raise DataError(f"{source}: expected numbers (uint8, int or float), got dtype {array.dtype}.")
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            bad_samples = ~finite.reshape(len(array), -1).all(axis=1)
            raise DataError(
                f"{source}: {array.size - finite.sum()} values are NaN or infinite; the first bad "
                f"sample is index {int(np.argmax(bad_samples))}. Expected finite values in [0, 1]."
            )
    images = _channels_first(array, source)
    if array.dtype == np.uint8:
        return torch.from_numpy(images.astype(np.float32) / 255)
    low, high = images.min(), images.max()
    if low < 0 or high > 1:
        hint = " Divide by 255 if these are 8-bit grey levels." if low >= 0 and high <= 255 else ""
        raise DataError(f"{source}: values lie in [{low}, {high}], expected [0, 1] (or uint8 in [0, 255]).{hint}")
    return torch.from_numpy(images.astype(np.float32))


def _channels_first(array: np.ndarray, source: str) -> np.ndarray:
    shape = array.shape
    if array.ndim == 2:
        side = math.isqrt(shape[1])
        if side * side == shape[1]:
            return array.reshape(shape[0], 1, side, side)
    elif array.ndim == 3:
        return array[:, None]
    elif array.ndim == 4 and shape[1] in (1, 3):
        return array
    elif array.ndim == 4 and shape[3] in (1, 3):
        return array.transpose(0, 3, 1, 2)
    raise DataError(f"{source}: expected images of shape {_SHAPES}; got shape {shape}.")


def load_array_file(path: str | os.PathLike, key: str | None = None) -> ImageData:
    """Images from a .npy file, or from the array `key` of a .npz file (its only array if key is None)."""
    path = Path(path)
    if path.suffix == ".npy":
        return ImageData(as_image_tensor(_read_numpy(path), str(path)), None, path.stem)
    if path.suffix != ".npz":
        raise DataError(f"{path}: expected a .npy or .npz file, got a {path.suffix or 'suffix-less'} file.")
    keys = npz_keys(path)
    if key is None and len(keys) != 1:
        raise DataError(f"{path} holds the arrays {keys}; pass the one to use as key.")
    if key is not None and key not in keys:
        raise DataError(f"{path} holds the arrays {keys}, not {key!r}.")
    key = key or keys[0]
    return ImageData(as_image_tensor(_read_numpy(path, key), f"{path}[{key!r}]"), None, f"{path.stem}-{key}")


def npz_keys(path: Path) -> list[str]:
    """The array names in a .npz archive; DataError naming the file if it is not one."""
    try:
        with open(path, "rb") as handle, np.load(handle) as archive:    # our handle: closed on any error
            return list(archive.files)
    except _NUMPY_READ_ERRORS as error:
        raise DataError(f"{path} cannot be read as a .npz archive ({_first_line(error)}); {_EXPECTED}.") from None


def _read_numpy(path: Path, key: str | None = None) -> np.ndarray:
    """A .npy array (memory-mapped first, so a header announcing more data than the file holds fails
    without allocating) or array `key` of a .npz; DataError naming the file on any damage."""
    try:
        if key is None:
            return np.array(np.load(path, mmap_mode="r"))
        with open(path, "rb") as handle, np.load(handle) as archive:
            return archive[key]
    except _NUMPY_READ_ERRORS as error:
        where = path if key is None else f"{path}[{key!r}]"
        raise DataError(f"{where} cannot be read as an array of images ({_first_line(error)}); {_EXPECTED}.") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def load_image_folder(path: str | os.PathLike) -> ImageData:
    """Images from a folder, all of one size; class subfolders (sorted by name) become labels 0, 1, ...

    Grey images stay one channel; any other mode becomes RGB, and if a folder mixes both, the
    grey images are repeated over three channels.
    """
    path = Path(path)
    files, labels = _image_files(path)
    first_size = None
    pixels = []
    for file in files:
        try:
            with Image.open(file) as image:
                if first_size is None:
                    first_size = image.size
                if image.size != first_size:
                    raise DataError(
                        f"{file} is {image.size[0]}x{image.size[1]} pixels but {files[0]} is "
                        f"{first_size[0]}x{first_size[1]}: all images in {path} must have one size."
                    )
                pixels.append(np.asarray(image.convert("L" if image.mode in _GREY_MODES else "RGB")))
        except OSError as error:
            raise DataError(f"{file} cannot be read as an image: {error}") from error
    if any(image.ndim == 3 for image in pixels):
        pixels = [np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image for image in pixels]
    images = as_image_tensor(np.stack(pixels), str(path))  # (N, H, W) or (N, H, W, 3)
    return ImageData(images, None if labels is None else torch.tensor(labels, dtype=torch.int64), path.name)


def _image_files(path: Path) -> tuple[list[Path], list[int] | None]:
    """Image files directly in `path`, or in its class subfolders together with their labels."""
    if not path.is_dir():
        raise DataError(f"{path}: expected a folder of images, but it is not a folder.")

    def images_in(folder: Path) -> list[Path]:
        files = (file for file in folder.iterdir() if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES)
        return sorted(files)

    top_level = images_in(path)
    classes = sorted(folder for folder in path.iterdir() if folder.is_dir() and images_in(folder))
    if top_level and classes:
        raise DataError(
            f"{path} holds images both directly and in subfolders ({classes[0].name}, ...); "
            f"expected either one folder of images or one subfolder per class."
        )
    if top_level:
        return top_level, None
    if not classes:
        raise DataError(f"{path} holds no images (looked for {', '.join(IMAGE_SUFFIXES)}).")
    files, labels = [], []
    for label, folder in enumerate(classes):
        class_files = images_in(folder)
        files += class_files
        labels += [label] * len(class_files)
    return files, labels
