"""Checkpoints of a run folder: ``checkpoint/`` = model.json + model.safetensors + trainer.pt.

A new checkpoint is written complete into ``checkpoint.tmp/``, then swapped in by renames
(checkpoint → checkpoint.old, checkpoint.tmp → checkpoint), and the previous checkpoint stays in
``checkpoint.old/``. A crash at any point leaves one of them complete; ``trainer.pt`` and
``model.json`` record the SHA-256 of the weights, so a damaged or half-written checkpoint is
detected and the older one used, with a warning.
"""
from __future__ import annotations

import pickle
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from vaekit.atomic import atomic_write, file_sha256, fsync_directory
from vaekit.models.base import WEIGHTS_FILE, Model, load_folder

TRAINER_FILE = "trainer.pt"


class CheckpointError(RuntimeError):
    """No usable checkpoint in a run folder."""


def save_checkpoint(run_dir: str | Path, model: Model, state: dict[str, Any]) -> Path:
    """Write model + trainer ``state`` (optimizer, step, RNG) as the run's latest checkpoint."""
    run_dir = Path(run_dir)
    staging, current, previous = run_dir / "checkpoint.tmp", run_dir / "checkpoint", run_dir / "checkpoint.old"
    shutil.rmtree(staging, ignore_errors=True)
    model.save(staging)
    state = {**state, "weights_sha256": file_sha256(staging / WEIGHTS_FILE)}
    with atomic_write(staging / TRAINER_FILE) as file:
        torch.save(state, file)
    if current.exists():
        shutil.rmtree(previous, ignore_errors=True)
        current.rename(previous)
    staging.rename(current)
    fsync_directory(run_dir)
    return current


def load_checkpoint(run_dir: str | Path) -> tuple[Model, dict[str, Any]]:
    """The newest intact checkpoint of ``run_dir`` as (model, trainer state); warns when it falls back."""
    run_dir = Path(run_dir)
    problems = []
    for folder in (run_dir / "checkpoint", run_dir / "checkpoint.old"):
        if not folder.exists():
            continue
        try:
            state = _trainer_state(folder / TRAINER_FILE)
            if state.get("weights_sha256") != file_sha256(folder / WEIGHTS_FILE):
                raise ValueError(f"{folder / WEIGHTS_FILE} does not match the checksum recorded in "
                                 f"{TRAINER_FILE} (damaged or half-written)")
            model = load_folder(folder)
        except (OSError, ValueError) as error:
            problems.append(str(error))
            continue
        if problems:
            warnings.warn(f"{'; '.join(problems)}; resuming from the previous checkpoint {folder} instead")
        return model, state
    detail = "; ".join(problems) if problems else "no checkpoint/ folder"
    raise CheckpointError(f"cannot resume from {run_dir}: {detail}")


def _trainer_state(path: Path) -> dict[str, Any]:
    """``trainer.pt`` read with ``weights_only`` (no code runs from it); ValueError if it is not ours."""
    if not path.is_file():
        raise ValueError(f"{path} is missing")
    try:
        with warnings.catch_warnings():          # torch warns about pickle protocols of files it then refuses
            warnings.simplefilter("ignore")
            state = torch.load(path, weights_only=True, map_location="cpu")   # a GPU run resumes anywhere
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, ValueError, TypeError) as error:
        raise ValueError(f"{path} is damaged or not a vaekit checkpoint ({type(error).__name__})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is damaged or not a vaekit checkpoint (it holds a {type(state).__name__})")
    return state
