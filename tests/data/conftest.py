"""Shared fixtures: the verified data copies beside the repository, and a fake network."""
import io
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture
def require_shared_data():
    """A function: SHARED_DATA once `folder` is there, else skip (unlike the root `shared_data`, per set)."""

    def require(folder: str) -> Path:
        if not (SHARED_DATA / folder).is_dir():
            pytest.skip(f"no verified copy of {folder} at {SHARED_DATA / folder} (offline machine without data)")
        return SHARED_DATA

    return require


@pytest.fixture
def fake_network(monkeypatch):
    """Replace urllib's urlopen: `serve(url, payload)` answers that URL; other URLs fail like an offline machine."""
    pages: dict[str, bytes] = {}
    requested: list[str] = []

    def urlopen(url, timeout=None):
        requested.append(url)
        if url not in pages:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return io.BytesIO(pages[url])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    class Network:
        def serve(self, url: str, payload: bytes) -> None:
            pages[url] = payload

        @property
        def requested(self) -> list[str]:
            return requested

    return Network()
