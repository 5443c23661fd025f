"""Crash-safe file writes (a temporary file beside the target, fsynced, renamed over) and checksums."""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import BinaryIO, Iterator


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_write(destination: str | os.PathLike) -> Iterator[BinaryIO]:
    """``with atomic_write(path) as file: file.write(...)``.

    On success the temporary file is fsynced and ``os.replace``d onto ``destination`` (and the
    folder fsynced), so a reader sees the old file or the complete new one, never a half-written
    file. If the block raises, the temporary file is removed and ``destination`` is untouched.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.part")
    try:
        with open(temporary, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(destination.parent)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
