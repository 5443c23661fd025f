"""The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), gzipped or not.

Layout: magic number `00 00 <type> <ndim>`, then `ndim` big-endian uint32 sizes, then the data
in C order, big-endian.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from vaekit.data.cache import DataError

_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file (gzip detected from its first bytes) into a native-endian array."""
    path = Path(path)
    raw = path.read_bytes()
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path} is not a valid gzip file: {error}") from error
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _DTYPES:
        codes = ", ".join(f"{code:02X}" for code in _DTYPES)
        raise DataError(
            f"{path} is not an IDX file: expected the magic number 00 00 <type> <ndim> with type "
            f"one of {codes}, got {raw[:4].hex(' ').upper() or 'an empty file'}."
        )
    dtype, ndim = _DTYPES[raw[2]], raw[3]
    header_bytes = 4 + 4 * ndim
    if len(raw) < header_bytes:
        raise DataError(f"{path} is truncated: its header announces {ndim} sizes, the file has {len(raw)} bytes.")
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected_bytes = math.prod(shape) * dtype.itemsize
    data_bytes = len(raw) - header_bytes
    if data_bytes != expected_bytes:
        problem = "is truncated" if data_bytes < expected_bytes else "has trailing bytes"
        raise DataError(
            f"{path} {problem}: its header announces shape {shape} of {dtype.name}, i.e. "
            f"{expected_bytes} bytes of data, but the file holds {data_bytes}."
        )
    array = np.frombuffer(raw, dtype, offset=header_bytes).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable native-endian copy


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzipped if `path` ends with .gz."""
    array = np.asarray(array)
    kind = (array.dtype.kind, array.dtype.itemsize)
    code = next((code for code, dtype in _DTYPES.items() if (dtype.kind, dtype.itemsize) == kind), None)
    if code is None:
        kinds = ", ".join(dtype.name for dtype in _DTYPES.values())
        raise ValueError(f"IDX holds {kinds}; got an array of {array.dtype}.")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    raw = header + array.astype(_DTYPES[code]).tobytes()
    Path(path).write_bytes(gzip.compress(raw, mtime=0) if str(path).endswith(".gz") else raw)
