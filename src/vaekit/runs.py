"""A run folder: ``config.yaml`` + ``checkpoint/`` + ``metrics.csv`` + ``tensorboard/`` + ``report/``.

Builds the data, model and trainer a config describes; used by the CLI and by notebooks.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from vaekit.config import ConfigError, RunConfig, load_config, save_config
from vaekit.data import ImageData, load_dataset, split_train_valid
from vaekit.models import MODELS, Model, load
from vaekit.train import History, Trainer
from vaekit.train.trainer import prepare_images

CONFIG_FILE = "config.yaml"


def build_model(config: RunConfig, image_shape: tuple[int, ...]) -> Model:
    model_config = config.model
    if not model_config.image_shape:
        model_config = dataclasses.replace(model_config, image_shape=tuple(image_shape))
    elif tuple(model_config.image_shape) != tuple(image_shape):
        raise ConfigError(f"model.image_shape {model_config.image_shape} does not match the data {image_shape}")
    return MODELS[model_config.kind](model_config)


def train_run(config: RunConfig, resume: bool = False) -> tuple[Model, History]:
    """Train what ``config`` describes into ``config.run_dir`` (or continue it with ``resume``)."""
    run_dir = Path(config.run_dir)
    if not resume and (run_dir / "checkpoint").exists():
        raise FileExistsError(f"{run_dir} already holds a trained run: continue it with "
                              f"`vaekit train --resume {run_dir}` or set run_dir=... to a new folder")
    data = load_dataset(config.data.name, "train", root=config.data.root)
    train, valid = split_train_valid(data, config.data.valid_fraction, config.train.seed)
    torch.manual_seed(config.train.seed)                  # the initial weights depend on the seed alone
    model = build_model(config, data.image_shape)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(dataclasses.replace(config, model=model.config), run_dir / CONFIG_FILE)
    trainer = Trainer(config.train, config.objective, binarize=config.data.binarize, run_dir=run_dir)
    history = trainer.fit(model, train, valid, resume=resume)
    return model, history


def load_run(run_dir: str | Path, overrides: list[str] = ()) -> tuple[RunConfig, Model]:
    """The config (with ``overrides``) and latest model of a run folder."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder: {CONFIG_FILE} is missing")
    config = load_config(run_dir / CONFIG_FILE, list(overrides))
    return dataclasses.replace(config, run_dir=str(run_dir)), load(run_dir)


def test_images(config: RunConfig, model: Model) -> ImageData:
    """The run's test split, binarized as in training (dynamic → one fixed Bernoulli draw)."""
    data = load_dataset(config.data.name, config.data.test_split, root=config.data.root)
    binarize = "static" if config.data.binarize == "dynamic" else config.data.binarize
    images = prepare_images(data.images.float(), binarize, seed=2024 if binarize == "static" else config.train.seed)
    images = model.check_input(images, f"{config.data.name} ({config.data.test_split} split)")
    return dataclasses.replace(data, images=images)


def report_dir(config: RunConfig) -> Path:
    path = Path(config.run_dir) / "report"
    path.mkdir(parents=True, exist_ok=True)
    return path


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
