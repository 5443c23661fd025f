"""A run folder: ``config.yaml`` + ``checkpoint/`` + ``metrics.csv`` + ``tensorboard/`` + ``report/``
(+ ``vocab.json`` for text: the training vocabulary, to encode test sentences and print samples).

Builds the data, model and trainer a config describes; used by the CLI and by notebooks.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from vaekit.config import ConfigError, RunConfig, load_config, save_config
from vaekit.data import ImageData, TextData, Vocabulary, is_text_data, load_dataset, load_text, split_train_valid
from vaekit.evaluate.estimators import check_estimator_config
from vaekit.models import MODELS, Model, load
from vaekit.objectives.elbo import check_objective_for_model
from vaekit.train import History, Trainer
from vaekit.train.distributed import distributed_session
from vaekit.train.trainer import prepare_images

CONFIG_FILE, VOCABULARY_FILE = "config.yaml", "vocab.json"


def load_data(config: RunConfig, split: str, vocabulary: Vocabulary | None = None) -> ImageData | TextData:
    """A split of ``config.data``; sentences are encoded with ``vocabulary`` (default: the training part's)."""
    if not is_text_data(config.data.name):
        return load_dataset(config.data.name, split, root=config.data.root)
    if config.data.binarize != "none":
        raise ConfigError(f"data.binarize must be none for text, got {config.data.binarize!r}")
    return load_text(config.data.name, split, config.data.root, max_length=config.data.max_length,
                     vocabulary=vocabulary)


def build_model(config: RunConfig, data: ImageData | TextData) -> Model:
    """The model of ``config``, with model.image_shape (images) or model.vocab_size (text) from ``data``."""
    model_config = config.model
    key, value = (("vocab_size", len(data.vocabulary)) if isinstance(data, TextData)
                  else ("image_shape", tuple(data.image_shape)))
    if not getattr(model_config, key):
        model_config = dataclasses.replace(model_config, **{key: value})
    elif getattr(model_config, key) != value:
        raise ConfigError(f"model.{key} {getattr(model_config, key)} does not match the data {value}")
    return MODELS[model_config.kind](model_config)


def train_run(config: RunConfig, resume: bool = False) -> tuple[Model, History]:
    """Train what ``config`` describes into ``config.run_dir`` (or continue it with ``resume``); under
    torchrun as one rank of a data-parallel run (``vaekit.train.distributed``)."""
    run_dir = Path(config.run_dir)
    if not resume and (run_dir / "checkpoint").exists():
        raise FileExistsError(f"{run_dir} already holds a trained run: continue it with "
                              f"`vaekit train --resume {run_dir}` or set run_dir=... to a new folder")
    trainer = Trainer(config.train, config.objective, binarize=config.data.binarize, run_dir=run_dir)  # checks first
    with distributed_session(config) as distributed:     # None unless this process is a rank under torchrun
        data = load_data(config, "train")
        if config.data.valid_split:
            train, valid = data, load_data(config, config.data.valid_split,
                                             data.vocabulary if isinstance(data, TextData) else None)
        else:
            train, valid = split_train_valid(data, config.data.valid_fraction, config.train.seed)
        torch.manual_seed(config.train.seed)              # the initial weights depend on the seed alone
        model = build_model(config, data)
        check_objective_for_model(config.objective, model)
        if config.evaluate.importance_samples > 0:       # evaluate.* is read after training: refuse it now
            check_estimator_config(config.evaluate)
        if distributed is None or distributed.is_main:   # rank 0 alone writes the run folder
            run_dir.mkdir(parents=True, exist_ok=True)
            save_config(dataclasses.replace(config, model=model.config), run_dir / CONFIG_FILE)
            if isinstance(data, TextData):
                data.vocabulary.save(run_dir / VOCABULARY_FILE)
        if isinstance(data, TextData):                    # the Trainer takes the token tensors
            train, valid = train.tokens, None if valid is None else valid.tokens
        history = trainer.fit(model, train, valid, resume=resume, distributed=distributed)
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


def load_vocabulary(run_dir: str | Path) -> Vocabulary:
    path = Path(run_dir) / VOCABULARY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: a text run keeps the vocabulary it was trained with there")
    return Vocabulary.load(path)


def test_sentences(config: RunConfig, model: Model) -> TextData:
    """The run's test split, encoded with the run's vocabulary."""
    vocabulary = load_vocabulary(config.run_dir)
    if len(vocabulary) != model.config.vocab_size:
        raise ValueError(f"{config.run_dir}/{VOCABULARY_FILE} holds {len(vocabulary)} tokens, "
                         f"the model {model.config.vocab_size}")
    data = load_data(config, config.data.test_split, vocabulary)
    model.check_input(data.tokens, f"{config.data.name} ({config.data.test_split} split)")
    return data


def report_dir(config: RunConfig) -> Path:
    path = Path(config.run_dir) / "report"
    path.mkdir(parents=True, exist_ok=True)
    return path


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
