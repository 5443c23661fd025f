"""Every image preset in configs/ builds its model and takes one finite training step."""
from pathlib import Path

import pytest
import torch

from vaekit.config import load_config
from vaekit.models import MODELS
from vaekit.objectives import OBJECTIVES

PRESETS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
IMAGE_SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "binarized-mnist": (1, 28, 28),
                "digits": (1, 8, 8), "dsprites": (1, 64, 64)}


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
