"""The GAN from the command line: the MNIST preset shrunk to the embedded 8×8 digits and two epochs."""
import json
from pathlib import Path

import pytest

from vaekit.cli import main

PRESET = str(Path(__file__).resolve().parents[1] / "configs" / "mnist_gan.yaml")
FAST = ["data.name=digits", "model.latent_dim=3", "model.conv_channels=[8]", "train.epochs=2",
        "train.progress=false"]
TINY_AIS = ["--max-examples", "4", "-k", "2", "--ais-steps", "3"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-gan") / "run"
    assert main(["train", PRESET, f"run_dir={folder}", *FAST]) == 0
    return folder


def metrics(run_dir):
    return json.loads((run_dir / "report" / "metrics.json").read_text())


def test_train_logs_both_losses(run_dir):
    header = (run_dir / "metrics.csv").read_text().splitlines()[0]
    assert {"train_discriminator", "train_generator", "valid_real_score", "valid_fake_score"} <= set(header.split(","))


def test_evaluate_says_plainly_there_is_no_likelihood(run_dir, capsys):
    assert main(["evaluate", str(run_dir)]) == 0
    assert "likelihood: none: a GAN defines no density" in capsys.readouterr().out
    found = metrics(run_dir)
    assert "nll" not in found and "bits_per_dim" not in found and 0 < found["real_score"] < 1


@pytest.mark.parametrize("how", [["--estimator", "ais"], ["evaluate.estimator=ais"]])
def test_evaluate_with_ais_reports_log_px_under_the_stated_gaussian_observation_model(run_dir, capsys, how):
    assert main(["evaluate", str(run_dir), *how, *TINY_AIS]) == 0
    assert "σ = 0.1581 (σ² = 0.025" in capsys.readouterr().out
    found = metrics(run_dir)
    assert found["observation_std"] == 0.1581 and found["estimator"] == "ais" and "nll" not in found
    assert found["observation_log_likelihood"] == found["observation_log_likelihood"]      # not NaN


@pytest.mark.parametrize("arguments, message", [
    (["evaluate", "{run}", "--estimator", "is"], "--estimator is: a gan has no encoder q(z|x)"),
    (["evaluate", "{run}", "--estimator", "ais", "--ais-start", "posterior"],
     "evaluate.ais_start=posterior needs an encoder q(z|x); a gan has none"),
    (["reconstruct", "{run}"], "a gan has no encoder"),
    (["train", PRESET, *FAST, "model.architecture=pixelcnn", "run_dir={tmp}/a"],
     "model.architecture must be conv (DCGAN) or mlp for a gan, got 'pixelcnn'"),
    (["train", PRESET, *FAST, "model.likelihood=bernoulli", "run_dir={tmp}/b"], "model.likelihood must be none"),
    (["train", PRESET, *FAST, "train.betas=[0.5]", "run_dir={tmp}/c"], "train.betas must be two numbers"),
])
def test_bad_input_exits_2_with_one_line(run_dir, tmp_path, capsys, arguments, message):
    arguments = [a.format(run=run_dir, tmp=tmp_path) for a in arguments]
    assert main(arguments) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert not (tmp_path / "a").exists()                            # refused before a run folder exists


def test_sample_and_report_draw_the_generator_output(run_dir, tmp_path):
    assert main(["sample", str(run_dir), "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["report", str(run_dir)]) == 0
    names = {p.name for p in (run_dir / "report").iterdir()}
    assert {"metrics.json", "loss_curve.png", "samples.png"} <= names and "reconstructions.png" not in names


def test_resume_extends_the_run(run_dir):
    assert main(["train", "--resume", str(run_dir), "train.epochs=3"]) == 0
    assert len((run_dir / "metrics.csv").read_text().splitlines()) == 4
