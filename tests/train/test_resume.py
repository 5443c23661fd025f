"""A run killed with SIGKILL and resumed ends with the same weights as an uninterrupted run."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

EPOCHS = 5


def write_config(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    prototypes = rng.random((10, 144)) < 0.3                        # 10 binary 12×12 patterns
    images = prototypes[rng.integers(0, 10, 6000)] ^ (rng.random((6000, 144)) < 0.05)
    np.save(folder / "patterns.npy", images.reshape(-1, 12, 12).astype(np.uint8) * 255)
    config = folder / "config.yaml"
    config.write_text(f"""
data: {{name: {folder / 'patterns.npy'}, binarize: dynamic, valid_fraction: 0.1, test_split: train}}
model: {{latent_dim: 8, hidden: [512, 256]}}
train: {{epochs: {EPOCHS}, batch_size: 32, threads: 1, seed: 7, progress: false}}
""")
    return config


def vaekit(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vaekit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def finished_epochs(run: Path) -> int:
    metrics = run / "metrics.csv"
    return max(0, len(metrics.read_text().splitlines()) - 1) if metrics.exists() else 0


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoint" / "model.safetensors"))


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    config = write_config(tmp_path)
    reference = vaekit("train", str(config), f"run_dir={tmp_path / 'reference'}")
    killed = vaekit("train", str(config), f"run_dir={tmp_path / 'killed'}")
    deadline = time.time() + 120
    while finished_epochs(tmp_path / "killed") < 2:                 # kill it inside epoch 3 or later
        assert killed.poll() is None, killed.stdout.read().decode()
        assert time.time() < deadline, "the run never reached epoch 2"
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert finished_epochs(tmp_path / "killed") < EPOCHS, "the run finished before it could be killed"

    resumed = vaekit("train", "--resume", str(tmp_path / "killed"))
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, output
    assert reference.wait(timeout=300) == 0, reference.stdout.read().decode()

    expected, got = weights(tmp_path / "reference"), weights(tmp_path / "killed")
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    assert finished_epochs(tmp_path / "killed") == EPOCHS             # no duplicated rows in metrics.csv
