"""Checkpoints of a run folder: ``checkpoint/`` = model.json + model.safetensors + trainer.pt.

A new checkpoint is written complete into ``checkpoint.tmp/``, then swapped in by renames
(checkpoint → checkpoint.old, checkpoint.tmp → checkpoint). A crash at any point leaves
either ``checkpoint/`` or ``checkpoint.old/`` complete; ``trainer.pt`` records the SHA-256
of the weights, so a damaged or half-written checkpoint is detected and the older one used.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import torch

from vaekit.models.base import WEIGHTS_FILE, Model, load
from vaekit.atomic import atomic_write, fsync_directory

TRAINER_FILE = "trainer.pt"


class CheckpointError(RuntimeError):
    """No usable checkpoint in a run folder."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(run_dir: str | Path, model: Model, state: dict[str, Any]) -> Path:
    """Write model + trainer ``state`` (optimizer, step, RNG) as the run's latest checkpoint."""
    run_dir = Path(run_dir)
    staging, current, previous = run_dir / "checkpoint.tmp", run_dir / "checkpoint", run_dir / "checkpoint.old"
    shutil.rmtree(staging, ignore_errors=True)
    model.save(staging)
    state = {**state, "weights_sha256": _sha256(staging / WEIGHTS_FILE)}
    with atomic_write(staging / TRAINER_FILE) as file:
        torch.save(state, file)
    if current.exists():
        shutil.rmtree(previous, ignore_errors=True)
        current.rename(previous)
    staging.rename(current)
    fsync_directory(run_dir)
    shutil.rmtree(previous, ignore_errors=True)
    return current


def load_checkpoint(run_dir: str | Path) -> tuple[Model, dict[str, Any]]:
    """The newest intact checkpoint of ``run_dir`` as (model, trainer state)."""
    run_dir = Path(run_dir)
    problems = []
    for folder in (run_dir / "checkpoint", run_dir / "checkpoint.old"):
        if not folder.exists():
            continue
        try:
            state = torch.load(folder / TRAINER_FILE, weights_only=True)
            if state.get("weights_sha256") != _sha256(folder / WEIGHTS_FILE):
                raise ValueError("weights do not match the checksum recorded with them (half-written?)")
            return load(folder), state
        except (OSError, RuntimeError, ValueError, EOFError) as error:
            problems.append(f"{folder}: {error}")
    detail = "; ".join(problems) if problems else "no checkpoint/ folder"
    raise CheckpointError(f"cannot resume from {run_dir}: {detail}")
