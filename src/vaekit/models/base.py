"""What every model shares: config, networks, input validation, save/load of a folder."""
from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn
from torch.distributions import Distribution

from vaekit.config import ConfigError, ModelConfig, from_dict, to_dict
from vaekit.distributions import Likelihood, PixelCNNLikelihood, make_likelihood
from vaekit.nn import MLP, ConvDecoder, ConvEncoder, default_channels
from vaekit.registry import Registry
from vaekit.atomic import atomic_write, file_sha256

MODELS: Registry[type["Model"]] = Registry("model")
MODEL_FILE, WEIGHTS_FILE = "model.json", "model.safetensors"


class Model(nn.Module):
    """Base class: ``encode`` x to a code or posterior, ``decode`` a code to p(x|z)."""

    kind = "model"
    objectives: tuple[str, ...] = ()  # names in vaekit.objectives.OBJECTIVES this model trains with
    input_kind = "images"             # or "tokens": (B, T) int64 sentences, no image_shape (vaekit.data.text)

    def __init__(self, config: ModelConfig | None = None, **fields):
        super().__init__()
        config = dataclasses.replace(config or ModelConfig(kind=self.kind), **fields)
        if self.input_kind == "images" and len(config.image_shape) != 3:
            raise ConfigError(f"model.image_shape must be (C, H, W), got {config.image_shape}")
        if self.input_kind == "images" and config.latent_dim < 1:
            raise ConfigError(f"model.latent_dim must be ≥ 1, got {config.latent_dim}")
        self.config = dataclasses.replace(config, kind=self.kind)
        self.image_shape = tuple(config.image_shape)
        self.likelihood = self._likelihood()

    # networks -----------------------------------------------------------------
    def _encoder(self, out_features: int) -> nn.Module:
        c = self.config
        if c.architecture == "mlp":
            return nn.Sequential(nn.Flatten(), MLP(self.num_pixels, c.hidden, out_features, c.activation))
        if c.architecture in ("conv", "pixelcnn"):
            return ConvEncoder(self.image_shape, self._channels(), self._conv_hidden(), out_features, c.activation)
        raise ConfigError(f"model.architecture must be mlp, conv or pixelcnn, got {c.architecture!r}")

    def _decoder(self) -> nn.Module:
        c = self.config
        if c.architecture == "mlp":
            return nn.Sequential(MLP(c.latent_dim, c.hidden[::-1], math.prod(self.decoder_shape), c.activation),
                                 nn.Unflatten(-1, self.decoder_shape))
        if c.architecture == "pixelcnn":  # z → conditioning map s(z) (C, H, W) read by every PixelCNN layer
            _, height, width = self.image_shape
            return nn.Sequential(nn.Linear(c.latent_dim, c.pixelcnn_channels * height * width),
                                 nn.Unflatten(-1, (c.pixelcnn_channels, height, width)))
        return ConvDecoder(c.latent_dim, self._channels(), self._conv_hidden(), self.image_shape,
                           self.decoder_shape[0], c.activation)

    def _likelihood(self) -> Likelihood:
        """p(x|·) of the decoder output; for pixelcnn an autoregressive Bernoulli holding the PixelCNN."""
        c = self.config
        if c.architecture != "pixelcnn":
            return make_likelihood(c.likelihood, self.image_shape, c.likelihood_scale)
        if c.likelihood != "bernoulli" or self.image_shape[0] != 1:
            raise ConfigError("model.architecture=pixelcnn models binary single-channel images: it needs "
                              f"model.likelihood=bernoulli and image_shape (1, H, W), got {c.likelihood!r} "
                              f"and {self.image_shape}")
        return PixelCNNLikelihood(self.image_shape, c.pixelcnn_channels, c.pixelcnn_layers)

    def _channels(self) -> tuple[int, ...]:
        return self.config.conv_channels or default_channels(self.image_shape[1])

    def _conv_hidden(self) -> int:
        return self.config.hidden[0] if self.config.hidden else 256

    @property
    def decoder_shape(self) -> tuple[int, int, int]:
        """(C·m, H, W): m parameters of p(x|z) per pixel (2 for the discretized logistic's μ and log s)."""
        channels, height, width = self.image_shape
        return channels * self.likelihood.outputs_per_pixel, height, width

    @property
    def num_pixels(self) -> int:
        c, h, w = self.image_shape
        return c * h * w

    # interface ----------------------------------------------------------------
    def code(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic representation of x, shape (B, latent_dim)."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> Distribution:
        """p(x|z) for codes of shape (..., latent_dim); batch shape (...), event shape (C, H, W)."""
        return self.likelihood(self.decoder(z))

    def reconstruct(self, x: torch.Tensor) -> Distribution:
        """p(x̂ | code(x)): ``.mean`` is the reconstruction."""
        return self.decode(self.code(x))

    def check_input(self, x: torch.Tensor, source: str = "input") -> torch.Tensor:
        """Validate a batch against the model: shape (B, C, H, W) (or (B, C·H·W)), finite, in range."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{source}: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 2 and x.shape[1] == self.num_pixels:
            x = x.view(-1, *self.image_shape)
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"{source}: expected shape (B, {', '.join(map(str, self.image_shape))}) "
                             f"or (B, {self.num_pixels}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"{source}: expected floating-point pixels, got dtype {x.dtype}")
        bad = ~torch.isfinite(x)
        if bad.any():
            first = int(bad.flatten(1).any(1).nonzero()[0])
            raise ValueError(f"{source}: {int(bad.sum())} NaN/Inf values, first in example {first}")
        self._check_pixel_values(x, source)
        return x

    def _check_pixel_values(self, x: torch.Tensor, source: str) -> None:
        """Pixels the likelihood can score: in [0, 1], binary for bernoulli, 8-bit for discretized-logistic."""
        name = self.config.likelihood
        if name == "discretized-logistic":
            check_8bit(x, source, "the discretized-logistic likelihood")
        if name in ("bernoulli", "continuous-bernoulli") and (x.min() < 0 or x.max() > 1):
            raise ValueError(f"{source}: the {name} likelihood needs pixels in [0, 1], "
                             f"got range [{float(x.min()):.4g}, {float(x.max()):.4g}]")
        if name == "bernoulli" and not torch.all((x == 0) | (x == 1)):
            raise ValueError(f"{source}: the bernoulli likelihood needs binary pixels (0 or 1), got grey "
                             "levels; set data.binarize=dynamic or static, or use "
                             "model.likelihood=continuous-bernoulli for grey images")

    # persistence ----------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``model.safetensors``, then ``model.json`` (kind, config, SHA-256 of the weights)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        with atomic_write(directory / WEIGHTS_FILE) as file:
            file.write(save(state))
        spec = {"kind": self.kind, "config": to_dict(self.config), "weights_sha256": file_sha256(directory / WEIGHTS_FILE)}
        with atomic_write(directory / MODEL_FILE) as file:
            file.write(json.dumps(spec, indent=2).encode())
        return directory


def check_8bit(x: torch.Tensor, source: str, what: str) -> None:
    """x must hold 8-bit intensities k/255, k ∈ {0, …, 255}: in [0, 1] and on that grid (to 1e-3/255)."""
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        raise ValueError(f"{source}: {what} models 8-bit pixels k/255 in [0, 1], got range [{low:.4g}, {high:.4g}]")
    levels = x * 255
    off_grid = (levels - torch.round(levels)).abs()
    if off_grid.max() > 1e-3:
        value = float(x.flatten()[off_grid.flatten().argmax()])
        raise ValueError(f"{source}: {what} models 8-bit pixels k/255 (k = 0, …, 255), got {value:.6g}; "
                         "quantize the data to 256 levels (data.binarize=none on 8-bit images such as mnist)")


def model_directories(path: str | Path) -> list[Path]:
    """A model folder itself, or a run folder's checkpoint/ then checkpoint.old/ (those present)."""
    path = Path(path)
    if (path / MODEL_FILE).exists() or (path / WEIGHTS_FILE).exists():
        return [path]
    found = [folder for folder in (path / "checkpoint", path / "checkpoint.old") if folder.is_dir()]
    if not found:
        raise FileNotFoundError(f"no saved model in {path}: expected {MODEL_FILE} and {WEIGHTS_FILE} there "
                                "or in its checkpoint/ folder")
    return found


def load(path: str | Path, map_location: str = "cpu") -> Model:
    """Rebuild a model saved with ``Model.save``, or the newest intact checkpoint of a run folder.

    The weights must match the SHA-256 recorded in ``model.json``; a run folder whose
    ``checkpoint/`` is damaged falls back to ``checkpoint.old/`` with a warning.
    """
    problems = []
    for directory in model_directories(path):
        try:
            model = load_folder(directory, map_location)
        except ValueError as error:
            problems.append(str(error))
            continue
        if problems:
            warnings.warn(f"{'; '.join(problems)}; loaded the previous checkpoint {directory} instead")
        return model
    raise ValueError("; ".join(problems))


def load_folder(directory: Path, map_location: str = "cpu") -> Model:
    """The model of one folder holding model.json and model.safetensors, verified; ValueError if damaged."""
    for name in (MODEL_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            raise ValueError(f"{directory / name} is missing")
    try:
        spec = json.loads((directory / MODEL_FILE).read_text())
        config = from_dict(ModelConfig, spec["config"])
        model = MODELS[spec["kind"]](config)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, OSError) as error:
        raise ValueError(f"{directory / MODEL_FILE} is damaged ({type(error).__name__}: {error})") from None
    except ConfigError as error:
        raise ValueError(f"{directory / MODEL_FILE} is damaged: {error}") from None
    expected = spec.get("weights_sha256")
    if expected is not None and file_sha256(directory / WEIGHTS_FILE) != expected:
        raise ValueError(f"{directory / WEIGHTS_FILE} does not match the SHA-256 recorded in {MODEL_FILE}: "
                         "the weights are damaged or were changed after saving")
    try:
        state = load_file(str(directory / WEIGHTS_FILE), device=map_location)
        model.load_state_dict(state)
    except SafetensorError as error:
        raise ValueError(f"{directory / WEIGHTS_FILE} is damaged or half-written: {error}") from None
    except RuntimeError as error:          # tensors missing, extra or of the wrong shape for the config
        first_line = str(error).splitlines()[0]
        raise ValueError(f"{directory / WEIGHTS_FILE} does not fit the model in {MODEL_FILE}: {first_line}") from None
    return model.eval()
