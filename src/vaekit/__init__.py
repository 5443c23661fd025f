"""vaekit: autoencoders and variational autoencoders in PyTorch.

>>> import vaekit
>>> data = vaekit.load_dataset("digits")
>>> model = vaekit.VAE(latent_dim=8, hidden=(128,), image_shape=data.image_shape)
>>> vaekit.Trainer(epochs=5, progress=False, binarize="dynamic").fit(model, data)  # doctest: +SKIP
>>> model.save("my-vae"); model = vaekit.load("my-vae")                             # doctest: +SKIP

The names below are imported on first use (PEP 562), so ``import vaekit`` and ``vaekit --help``
do not pay for importing torch until something needs it.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_MODULE_OF = {
    **dict.fromkeys(["ConfigError", "DataConfig", "EvalConfig", "ModelConfig", "ObjectiveConfig", "RunConfig",
                     "TrainConfig", "load_config"], "vaekit.config"),
    **dict.fromkeys(["ImageData", "load_dataset"], "vaekit.data"),
    **dict.fromkeys(["evaluate_model", "log_likelihood_estimate"], "vaekit.evaluate"),
    **dict.fromkeys(["MODELS", "VAE", "Autoencoder", "Model", "load"], "vaekit.models"),
    **dict.fromkeys(["OBJECTIVES", "elbo", "iwae_bound"], "vaekit.objectives"),
    **dict.fromkeys(["Trainer", "TrainingError"], "vaekit.train"),
}
__all__ = ["VAE", "Autoencoder", "Model", "MODELS", "load", "Trainer", "TrainingError", "load_dataset",
           "ImageData", "OBJECTIVES", "elbo", "iwae_bound", "evaluate_model", "log_likelihood_estimate",
           "RunConfig", "DataConfig", "ModelConfig", "ObjectiveConfig", "TrainConfig", "EvalConfig",
           "ConfigError", "load_config"]

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from vaekit.config import (ConfigError, DataConfig, EvalConfig, ModelConfig, ObjectiveConfig, RunConfig,
                               TrainConfig, load_config)
    from vaekit.data import ImageData, load_dataset
    from vaekit.evaluate import evaluate_model, log_likelihood_estimate
    from vaekit.models import MODELS, VAE, Autoencoder, Model, load
    from vaekit.objectives import OBJECTIVES, elbo, iwae_bound
    from vaekit.train import Trainer, TrainingError


def __getattr__(name: str) -> Any:
    """``vaekit.VAE`` and the other names of ``__all__``; ``vaekit.models`` and the other subpackages."""
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"vaekit.{name}") is not None:
        value = importlib.import_module(f"vaekit.{name}")
    else:
        raise AttributeError(f"module 'vaekit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
