"""Shared fixtures: the verified data copies beside the repository, tiny models."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or the folder VAEKIT_DATA names; tests needing it skip when it is absent."""
    root = Path(os.environ.get("VAEKIT_DATA", SHARED_DATA))
    if not (root / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST copy not found under {root} (set VAEKIT_DATA to a folder holding mnist/)")
    return root


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
