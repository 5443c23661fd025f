"""Where data files live on disk, and how one gets there: download, verify a checksum, move into place."""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from pathlib import Path
from typing import BinaryIO

from vaekit.atomic import atomic_write

ENV_VAR = "VAEKIT_DATA"
TIMEOUT_S = 60
_CHUNK_BYTES = 1 << 20


class DataError(ValueError):
    """A data file is missing or corrupt, or holds values vaekit cannot use."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The cache folder: `root` if given, else $VAEKIT_DATA, else ~/.cache/vaekit."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path.home() / ".cache" / "vaekit"


def hash_stream(stream: BinaryIO, algorithms, sink: BinaryIO | None = None) -> dict[str, str]:
    """Hex digests of everything read from `stream`, chunk by chunk; each chunk is also written to `sink`."""
    hashers = {algorithm: hashlib.new(algorithm) for algorithm in algorithms}
    for chunk in iter(lambda: stream.read(_CHUNK_BYTES), b""):
        for hasher in hashers.values():
            hasher.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return {algorithm: hasher.hexdigest() for algorithm, hasher in hashers.items()}


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks."""
    with open(path, "rb") as file:
        return hash_stream(file, [algorithm])[algorithm]


def missing_file_message(destination: Path, url: str, reason: str) -> str:
    """Say which file is missing, why, where to get it and where to put it."""
    return (
        f"{destination.name} is missing and {reason}. Download it from {url} and save it as "
        f"{destination}, or set the environment variable {ENV_VAR} (or pass root=) to a data "
        f"folder that already holds it under the same relative path."
    )


def fetch(
    url: str,
    destination: str | os.PathLike,
    md5: str | None = None,
    sha256: str | None = None,
    *,
    download: bool = True,
) -> Path:
    """Return `destination` once it holds the file at `url` with the given checksums.

    An existing file is only read (the cache may be read-only); a missing one is downloaded
    to a temporary file, verified, and moved into place atomically.
    """
    destination = Path(destination)
    expected = {name: value.lower() for name, value in (("md5", md5), ("sha256", sha256)) if value}
    if destination.exists():
        with open(destination, "rb") as file:
            actual = hash_stream(file, expected)
        _check_digests(actual, expected, str(destination), "delete it and vaekit will download it again")
        return destination
    if not download:
        raise DataError(missing_file_message(destination, url, "download=False"))
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, atomic_write(destination) as file:
            actual = hash_stream(response, expected, sink=file)
            _check_digests(actual, expected, f"the download of {url}", f"nothing was written to {destination}")
    except (OSError, http.client.HTTPException) as error:
        raise DataError(missing_file_message(destination, url, f"downloading it failed ({error})")) from error
    return destination


def _check_digests(actual: dict[str, str], expected: dict[str, str], what: str, advice: str) -> None:
    for algorithm, digest in expected.items():
        if actual[algorithm] != digest:
            raise DataError(
                f"{what} has {algorithm} {actual[algorithm]}, expected {digest}: the file is corrupt "
                f"or not the official one; {advice}."
            )
