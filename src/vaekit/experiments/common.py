"""What the experiments share: data subsets, training a model, figure helpers."""
from __future__ import annotations

import dataclasses

import torch

from vaekit.config import ModelConfig, ObjectiveConfig, TrainConfig
from vaekit.data import ImageData, load_dataset
from vaekit.models import MODELS, Model
from vaekit.train import Trainer


def dataset(name: str, split: str, size: int | None, data_root: str | None, seed: int = 0) -> ImageData:
    """The first ``size`` images of a fixed random order of ``split`` (all of them for None)."""
    data = load_dataset(name, split, root=data_root)
    if size is None or size >= len(data):
        return data
    index = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:size]
    labels = None if data.labels is None else data.labels[index]
    return dataclasses.replace(data, images=data.images[index], labels=labels)


def train_model(model_config: ModelConfig, data: ImageData, *, epochs: int, objective: ObjectiveConfig = ObjectiveConfig(),
                binarize: str = "none", batch_size: int = 128, lr: float = 1e-3, seed: int = 0, **train_fields) -> Model:
    """Build and train a model on ``data`` (no run folder), quietly."""
    torch.manual_seed(seed)
    model = MODELS[model_config.kind](dataclasses.replace(model_config, image_shape=data.image_shape))
    train = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False, **train_fields)
    Trainer(train, objective, binarize=binarize).fit(model, data)
    return model
