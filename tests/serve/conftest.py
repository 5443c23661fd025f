"""Tiny runs for the explorer: digits — a 2-D VAE (map as is), an 8-D VAE (PCA map), an autoencoder —
and a sentence VAE with a 4-D latent (PCA map) on a toy grammar of short sentences."""
from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from vaekit.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PRESET = str(CONFIGS / "digits_vae.yaml")
FAST = ["train.progress=false", "train.device=cpu", "model.hidden=[64]", "evaluate.importance_samples=0"]
TEXT_FAST = ["train.progress=false", "train.device=cpu", "evaluate.importance_samples=0", "data.valid_split=",
             "model.embedding_dim=16", "model.rnn_hidden=32", "train.batch_size=16"]


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
def sentence_vae_run(tmp_path_factory) -> Path:
    """The PTB preset on 400 lines of a toy grammar (every 10th line is a test sentence: 40 on the map),
    4 latent dimensions, 32 LSTM units, 20 epochs of 23 steps (≈ 8 s); word dropout and free bits keep
    all 4 dimensions active, so decodes differ across the map. The word "<i>red</i>" checks that the page
    shows sentences as text, not as HTML."""
    rng = random.Random(0)
    subjects, verbs = ["the cat", "a dog", "the old man", "my sister"], ["sees", "likes", "finds"]
    objects = ["the ball", "a small bird", "fish", "the <i>red</i> house by the river"]   # markup as a word
    lines = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}"
             + rng.choice(["", " today", " and the dog sleeps"]) for _ in range(400)]
    folder = tmp_path_factory.mktemp("serve-text")
    (folder / "sentences.txt").write_text("\n".join(lines) + "\n")
    assert main(["train", str(CONFIGS / "ptb_sentence_vae.yaml"), f"data.name={folder / 'sentences.txt'}",
                 f"run_dir={folder / 'run'}", "model.latent_dim=4", "train.epochs=20", "train.lr=0.005",
                 "model.word_dropout=0.5", "objective.free_bits=0.5", *TEXT_FAST]) == 0
    return folder / "run"


def _serve(run_dir: Path):
    """`vaekit serve` in a subprocess on a free port of 127.0.0.1: yields (base URL, process, its first line)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "vaekit", "serve", str(run_dir), "--port", str(port)],
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


@pytest.fixture(scope="session")
def live_server(vae2_run):
    yield from _serve(vae2_run)


@pytest.fixture(scope="session")
def text_live_server(sentence_vae_run):
    yield from _serve(sentence_vae_run)
