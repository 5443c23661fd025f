"""Tiny digits runs for the explorer: a 2-D VAE (map as is), an 8-D VAE (PCA map), an autoencoder."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from vaekit.cli import main

PRESET = str(Path(__file__).resolve().parents[2] / "configs" / "digits_vae.yaml")
FAST = ["train.progress=false", "train.device=cpu", "model.hidden=[64]", "evaluate.importance_samples=0"]


def _train(folder: Path, *overrides: str) -> Path:
    assert main(["train", PRESET, f"run_dir={folder}", *FAST, *overrides]) == 0
    return folder


@pytest.fixture(scope="session")
def vae2_run(tmp_path_factory) -> Path:
    """20 epochs, 2 latent dimensions: both active (KL ≈ 1.5 nats), so the map's decodes differ."""
    return _train(tmp_path_factory.mktemp("serve") / "vae2", "train.epochs=20", "model.latent_dim=2")


@pytest.fixture(scope="session")
def vae8_run(tmp_path_factory) -> Path:
    return _train(tmp_path_factory.mktemp("serve") / "vae8", "train.epochs=3", "model.latent_dim=8")


@pytest.fixture(scope="session")
def autoencoder_run(tmp_path_factory) -> Path:
    return _train(tmp_path_factory.mktemp("serve") / "ae", "train.epochs=3", "model.latent_dim=2",
                  "model.kind=autoencoder", "objective.name=reconstruction", "data.binarize=none",
                  "model.likelihood=continuous-bernoulli")


@pytest.fixture(scope="session")
def live_server(vae2_run):
    """`vaekit serve` in a subprocess on a free port of 127.0.0.1: (base URL, process, its first line)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "vaekit", "serve", str(vae2_run), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "api/info", timeout=5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"vaekit serve did not answer at {url}: {process.communicate()[0]}")
            time.sleep(0.2)
    yield url, process, process.stdout.readline()
    process.terminate()
    process.wait(timeout=10)
