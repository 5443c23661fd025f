"""vaekit: autoencoders and variational autoencoders in PyTorch.

>>> import vaekit
>>> data = vaekit.load_dataset("digits")
>>> model = vaekit.VAE(latent_dim=8, hidden=(128,), image_shape=data.image_shape)
>>> vaekit.Trainer(epochs=5, progress=False, binarize="dynamic").fit(model, data)  # doctest: +SKIP
>>> model.save("my-vae"); model = vaekit.load("my-vae")                             # doctest: +SKIP
"""
from vaekit.config import (ConfigError, DataConfig, EvalConfig, ModelConfig, ObjectiveConfig, RunConfig,
                           TrainConfig, load_config)
from vaekit.data import ImageData, load_dataset
from vaekit.evaluate import evaluate_model, log_likelihood_estimate
from vaekit.models import MODELS, VAE, Autoencoder, Model, load
from vaekit.objectives import OBJECTIVES, elbo, iwae_bound
from vaekit.train import Trainer, TrainingError

__version__ = "0.1.0"
__all__ = ["VAE", "Autoencoder", "Model", "MODELS", "load", "Trainer", "TrainingError", "load_dataset",
           "ImageData", "OBJECTIVES", "elbo", "iwae_bound", "evaluate_model", "log_likelihood_estimate",
           "RunConfig", "DataConfig", "ModelConfig", "ObjectiveConfig", "TrainConfig", "EvalConfig",
           "ConfigError", "load_config"]
