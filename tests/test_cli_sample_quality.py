"""`vaekit evaluate --sample-quality` on a tiny MNIST VAE, and its refusals."""
import json
from pathlib import Path

import pytest

from vaekit.cli import main
from vaekit.evaluate import sample_quality

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TINY = ["train.epochs=1", "train.epoch_size=512", "train.progress=false", "model.hidden=[32]", "model.latent_dim=4",
        "evaluate.importance_samples=2"]


@pytest.fixture
def small_classifier(monkeypatch):
    """A classifier trained in a second stands in for the 60,000-image default."""
    settings = sample_quality.ClassifierSettings(train_size=1000, hidden=(16,), epochs=2)
    monkeypatch.setattr(sample_quality, "CLASSIFIER", settings)
    return settings


def test_evaluate_reports_sample_quality_of_means_samples_and_the_test_floor(shared_data, tmp_path, capsys,
                                                                              small_classifier):
    run = tmp_path / "run"
    assert main(["train", str(CONFIGS / "mnist_vae.yaml"), f"run_dir={run}", f"data.root={shared_data}",
                 "data.valid_fraction=0.005", *TINY]) == 0
    assert main(["evaluate", str(run), "-k", "2", "--max-examples", "20", "--sample-quality",
                 "--sample-quality-n", "300"]) == 0
    metrics = json.loads((run / "report" / "metrics.json").read_text())
    assert metrics["sample_quality_classifier_layer"] == small_classifier.layer == "hidden-16 (post-ReLU)"
    assert metrics["sample_quality_num_samples"] == 300 and "Inception" in metrics["sample_quality_note"]
    for name in ("means", "samples", "test"):
        assert metrics[f"sample_quality_{name}_fd"] >= 0
        assert 0 <= metrics[f"sample_quality_{name}_precision"] <= 1
        assert 0 <= metrics[f"sample_quality_{name}_recall"] <= 1
    # one epoch on 512 images: test images are far closer to the training images than its draws
    assert metrics["sample_quality_test_fd"] < min(metrics["sample_quality_means_fd"],
                                                    metrics["sample_quality_samples_fd"])
    assert metrics["sample_quality_means_sharpness"] < metrics["sample_quality_samples_sharpness"]
    assert (run / "report" / "sample_quality_classifier.safetensors").is_file()
    assert "sample_quality_means_fd" in capsys.readouterr().out


@pytest.mark.parametrize("overrides, reason", [
    ([], "the feature classifier is an MNIST one for (1, 28, 28) images, this run's are (1, 8, 8)"),
    (["model.kind=autoencoder", "objective.name=reconstruction", "model.likelihood=gaussian"],
     "model.kind=autoencoder has no prior to sample from")])
def test_sample_quality_is_skipped_with_the_reason(overrides, reason, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(CONFIGS / "digits_vae.yaml"), f"run_dir={run}", *TINY, *overrides]) == 0
    assert main(["evaluate", str(run), "-k", "2", "--max-examples", "20", "--sample-quality"]) == 0
    assert f"sample quality: skipped: {reason}" in capsys.readouterr().out
    assert json.loads((run / "report" / "metrics.json").read_text())["sample_quality_skipped"].startswith(reason)


def test_too_few_sample_quality_images_are_refused(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "--sample-quality", "--sample-quality-n", "3"]) == 2
    assert "--sample-quality-n must be ≥ 4" in capsys.readouterr().err
