"""The flow and the 8-bit VAE from the command line, on a small 8-bit data set: train, resume,
evaluate (exact bits/dim for the flow, the IS bound for the VAE), sample, and bad input."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from html_checks import assert_self_contained
from vaekit.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
FLOW = str(CONFIGS / "mnist_realnvp_quick.yaml")
VAE_8BIT = str(CONFIGS / "mnist_vae_8bit.yaml")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    """600 8-bit 12×12 images: a bright bar on a noisy dark background."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 20, (600, 12, 12))
    images[np.arange(600), :, rng.integers(2, 10, 600)] = 230
    path = tmp_path_factory.mktemp("data") / "bars.npy"
    np.save(path, images.astype(np.uint8))
    return str(path)


def settings(data: str, folder: Path) -> list[str]:
    return [f"data.name={data}", "data.test_split=train", "data.valid_fraction=0.1", f"run_dir={folder}",
            "train.epoch_size=128", "train.batch_size=32", "train.progress=false"]


def test_a_flow_trains_resumes_evaluates_exactly_and_samples(data, tmp_path, capsys):
    folder = tmp_path / "flow"
    assert main(["train", FLOW, *settings(data, folder)]) == 0
    assert main(["train", "--resume", str(folder), "train.epochs=2"]) == 0
    assert len((folder / "metrics.csv").read_text().splitlines()) == 3
    capsys.readouterr()
    assert main(["evaluate", str(folder), "--max-examples", "100"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((folder / "report" / "metrics.json").read_text())
    assert metrics["estimator"] == "exact" and metrics["num_examples"] == 100 and "exact" in printed
    assert math.isfinite(metrics["nll"])
    assert metrics["bits_per_dim"] == pytest.approx(metrics["nll"] / (144 * math.log(2)))
    out = tmp_path / "samples.png"
    assert main(["sample", str(folder), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert main(["evaluate", str(folder), "--estimator", "ais"]) == 2
    assert "has an exact density and takes no estimator" in capsys.readouterr().err
    assert main(["report", str(folder), "--max-examples", "50", "--html"]) == 0
    assert {"loss_curve.png", "metrics.json", "samples.png"} <= {p.name for p in (folder / "report").iterdir()}
    page = assert_self_contained(folder / "report" / "report.html")           # loss curve and samples
    assert len(page.images()) == 2 and "reconstructions, interpolation, latent traversals" in page.text
    assert main(["reconstruct", str(folder)]) == 2
    assert "a realnvp has no encoder" in capsys.readouterr().err


def test_an_8bit_vae_reports_its_importance_sampled_bits_per_dim(data, tmp_path):
    folder = tmp_path / "vae"
    assert main(["train", VAE_8BIT, *settings(data, folder), "train.epochs=1", "model.hidden=[32]"]) == 0
    assert main(["evaluate", str(folder), "-k", "10", "--max-examples", "50"]) == 0
    metrics = json.loads((folder / "report" / "metrics.json").read_text())
    assert metrics["estimator"] == "is" and metrics["importance_samples"] == 10
    assert metrics["nll"] > 0 and metrics["bits_per_dim"] == pytest.approx(metrics["nll"] / (144 * math.log(2)))


@pytest.mark.parametrize("override, message", [
    ("model.architecture=resnet", "model.architecture of a realnvp must be one of conv, mlp, got 'resnet'"),
    ("model.flow_scales=3", "model.flow_scales=3 squeezes 12×12 images"),
    ("objective.name=elbo", "a realnvp trains with objective.name in ('flow-nll',), got 'elbo'"),
    ("model.flow_depth=3", "unknown key(s) model.flow_depth"),
])
def test_bad_settings_fail_in_one_line_before_the_run_folder_exists(data, tmp_path, capsys, override, message):
    folder = tmp_path / "refused"
    assert main(["train", FLOW, *settings(data, folder), override]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and (message is None or message in error), error
    assert not (folder / "checkpoint").exists()


def test_a_flow_refuses_images_off_the_8bit_grid(tmp_path, capsys):
    path = tmp_path / "grey.npy"
    np.save(path, np.random.default_rng(0).random((64, 8, 8)).astype(np.float32) * 0.5)
    assert main(["train", FLOW, *settings(str(path), tmp_path / "grey")]) == 2
    assert "a realnvp models 8-bit pixels k/255" in capsys.readouterr().err
