"""The shipped presets: found by name, listed with a description, and every image preset builds its
model and takes one finite training step; the demo's preset trains and reports from the package alone."""
import json
import math
from pathlib import Path

import pytest
import torch

from vaekit.cli import main
from vaekit.config import ConfigError, load_config
from vaekit.models import MODELS
from vaekit.objectives import OBJECTIVES
from vaekit.presets import PRESET_DIR, available_presets, preset_path

PRESETS = [PRESET_DIR / f"{name}.yaml" for name in available_presets()]
IMAGE_SHAPES = {"mnist": (1, 28, 28), "mnist-subset": (1, 28, 28), "fashion-mnist": (1, 28, 28),
                "binarized-mnist": (1, 28, 28), "digits": (1, 8, 8), "dsprites": (1, 64, 64)}


@pytest.mark.parametrize("preset", [p for p in PRESETS if load_config(p).data.name in IMAGE_SHAPES],
                         ids=lambda p: p.stem)
def test_image_preset_takes_a_finite_step(preset):
    config = load_config(preset)
    torch.manual_seed(0)
    model = MODELS[config.model.kind](config.model, image_shape=IMAGE_SHAPES[config.data.name])
    x = torch.rand(4, *model.image_shape)
    if config.model.likelihood == "bernoulli":
        x = torch.bernoulli(x)
    loss, terms = OBJECTIVES[config.objective.name](model, x, config.objective, step=0, dataset_size=1000)
    losses = loss.values() if isinstance(loss, dict) else [loss]
    assert all(torch.isfinite(value) for value in losses) and terms


def test_a_preset_is_found_by_name_with_or_without_yaml_and_a_real_file_wins(tmp_path, monkeypatch):
    assert preset_path("mnist_vae") == preset_path("mnist_vae.yaml") == PRESET_DIR / "mnist_vae.yaml"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist_vae.yaml").write_text("train:\n  epochs: 1\n")
    assert preset_path("mnist_vae.yaml") == Path("mnist_vae.yaml")
    assert preset_path(tmp_path / "mnist_vae.yaml") == tmp_path / "mnist_vae.yaml"
    assert preset_path("mnist_vae") == PRESET_DIR / "mnist_vae.yaml"


@pytest.mark.parametrize("name", ["no_such_preset", "configs/mnist_vae.yaml", "experiments/linear-ae-pca"])
def test_an_unknown_name_or_a_missing_file_lists_the_presets(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=f"^{name}: no such file and no preset of that name; .*mnist_vae"):
        preset_path(name)


def test_every_preset_has_a_description():
    assert len(available_presets()) >= 20
    assert all(available_presets().values())
    assert available_presets()["mnist_gan"].endswith(" …")   # its comment goes on over more lines


def test_presets_command_lists_and_prints_presets(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(available_presets())
    assert "Kingma & Welling" in next(line for line in lines if line.startswith("mnist_vae "))
    assert main(["presets", "digits_vae"]) == 0
    assert capsys.readouterr().out.endswith((PRESET_DIR / "digits_vae.yaml").read_text())


def test_train_with_an_unknown_preset_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "mnist_vea", "train.epochs=1"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("vaekit train: error: mnist_vea: no such file")


def test_train_takes_a_preset_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "digits_vae", "train.epochs=1", "train.progress=false", "model.hidden=[16]",
                 "run_dir=run"]) == 0
    assert (tmp_path / "run" / "checkpoint").is_dir()


@pytest.mark.parametrize("latent_dim", [2, 3])
def test_the_demo_preset_trains_an_epoch_and_its_report_maps_2d_codes(latent_dim, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VAEKIT_DATA", raising=False)              # the subset ships with the package
    assert main(["train", "mnist_subset_vae", "train.epochs=1", "train.epoch_size=500", "train.progress=false",
                 f"model.latent_dim={latent_dim}", "run_dir=run"]) == 0
    assert main(["report", "run", "-k", "4", "--max-examples", "50"]) == 0
    metrics = json.loads((tmp_path / "run" / "report" / "metrics.json").read_text())
    assert metrics["dataset"] == "mnist-subset" and math.isfinite(metrics["elbo"]) and metrics["elbo"] < 0
    figures = {path.name for path in (tmp_path / "run" / "report").glob("*.png")}
    assert {"loss_curve.png", "samples.png", "reconstructions.png", "interpolation.png"} <= figures
    assert ("latent_map.png" in figures) == (latent_dim == 2)
