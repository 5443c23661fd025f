"""Run configuration: frozen dataclasses, loaded from YAML, overridden by ``key=value``.

Precedence is defaults < YAML file < command-line overrides. Unknown keys and values of
the wrong type are rejected with a message naming the key, the expected type and the value;
so are non-finite floats and numbers outside a field's range (``vaekit.config_ranges``).
"""
from __future__ import annotations

import dataclasses
import math
import reprlib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vaekit.config_ranges import range_problem

class ConfigError(ValueError):
    """A configuration key or value is not what the run expects."""


@dataclass(frozen=True)
class DataConfig:
    name: str = "digits"            # mnist | mnist-subset | fashion-mnist | binarized-mnist | digits | dsprites | ptb | path to .npy/.npz/folder/.txt
    root: str | None = None          # cache folder; default $VAEKIT_DATA or ~/.cache/vaekit
    binarize: str = "none"           # none | dynamic | static | threshold
    valid_fraction: float = 0.1      # held out of the training split for the per-epoch valid ELBO
    valid_split: str = ""            # validate on this split of the data set instead (e.g. ptb's "valid")
    test_split: str = "test"
    max_length: int = 100            # text: sentences of more tokens (words + <eos>) are dropped and counted


@dataclass(frozen=True)
class ModelConfig:
    kind: str = "vae"                # vae | autoencoder | factor-vae | sentence-vae | language-model | gan | realnvp
    architecture: str = "mlp"        # mlp | conv | pixelcnn (conv encoder, autoregressive decoder) | lstm (text)
    latent_dim: int = 20
    hidden: tuple[int, ...] = (400,) # MLP widths (encoder; the decoder mirrors them); realnvp: s/t nets
    activation: str = "relu"         # relu | tanh | softplus | elu | leaky-relu | identity
    conv_channels: tuple[int, ...] = ()  # empty: chosen from the image size
    likelihood: str = "bernoulli"    # bernoulli | continuous-bernoulli | gaussian | gaussian-learned | discretized-logistic | none (gan)
    likelihood_scale: float = 1.0    # std of the fixed-variance Gaussian likelihood
    image_shape: tuple[int, ...] = ()  # (C, H, W); filled from the data when empty
    pixelcnn_layers: int = 5         # masked 7x7 then 3x3 convolutions of the PixelCNN decoder
    pixelcnn_channels: int = 32
    discriminator_hidden: tuple[int, ...] = (1000, 1000, 1000, 1000, 1000, 1000)  # FactorVAE's D(z)
    vocab_size: int = 0              # text: filled from the data's vocabulary when 0
    embedding_dim: int = 256         # text: word embedding size
    rnn_hidden: int = 256            # text: LSTM state size of encoder and decoder
    word_dropout: float = 0.0        # text: decoder inputs replaced by <unk> (Bowman et al. 2016)
    embedding_dropout: float = 0.0   # text: dropout on decoder input embeddings (He et al. 2019)
    posterior: str = "gaussian"      # q(z|x): gaussian | planar | iaf (amortized flows, vaekit.distributions.flows)
    flow_length: int = 10            # planar: K flows (Rezende & Mohamed 2015); iaf: T steps; realnvp: couplings/group
    flow_scales: int = 2             # realnvp: levels [couplings, squeeze, couplings, factor out] (Dinh 2017)
    flow_hidden: tuple[int, ...] = (320, 320)  # iaf: hidden widths of each MADE (Kingma et al. 2016)
    flow_context: int = 100          # iaf: size of the context h(x) the encoder passes to every step
    prior: str = "standard"          # p(z): standard | vamp | mog (vaekit.distributions.priors)
    prior_components: int = 500      # vamp: K pseudo-inputs (Tomczak & Welling 2018); mog: K components
    latent_dims: tuple[int, ...] = ()  # hierarchical-vae: stochastic layer sizes, bottom-up (Burda: [100, 50])
    hidden_upper: tuple[int, ...] = (100, 100)  # hierarchical-vae: widths of the z1 <-> z2 networks
    inference: str = "bottom-up"     # hierarchical-vae: bottom-up | ladder (top-down, Sønderby et al. 2016)


@dataclass(frozen=True)
class ScheduleConfig:
    """A weight as a function of the optimizer step; see ``vaekit.schedules``."""
    kind: str = "constant"           # constant | linear | sigmoid | cyclical
    steps: int = 0                   # rise length (linear, sigmoid) or length of all cycles (cyclical)
    start: float = 0.0               # fraction of the full value at step 0
    cycles: int = 4                  # cyclical: number of cycles M (Fu et al. 2019)
    ratio: float = 0.5               # cyclical: fraction R of each cycle spent rising


@dataclass(frozen=True)
class RegularizerConfig:
    """One term λ·R added to the loss: R on q(z|x) per example or on the aggregate q(z)."""
    name: str = ""                   # see vaekit.objectives.regularizers.REGULARIZERS
    weight: float = 1.0              # λ
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)  # scales λ
    estimator: str = "mss"           # total-correlation: mss | mws (Chen et al. 2018)
    kernel: str = "imq"              # mmd: rbf | imq (Zhao et al. 2017)
    capacity: float = 0.0            # capacity: target KL C in nats (Burgess et al. 2018)
    capacity_schedule: ScheduleConfig = field(default_factory=ScheduleConfig)  # scales C
    diagonal_weight: float = 1.0     # dip: λ_d / λ_od (Kumar et al. 2018)


@dataclass(frozen=True)
class ObjectiveConfig:
    name: str = "elbo"               # elbo | iwae | reconstruction | factor-vae | language-model
    num_samples: int = 1             # K Monte-Carlo samples of z per data point
    gradient: str = "standard"       # iwae encoder gradient: standard | stl (Roeder et al. 2017) | dreg (Tucker et al. 2019)
    beta: float = 1.0                # weight of KL(q(z|x) || p(z)) (beta-VAE)
    kl_schedule: ScheduleConfig = field(default_factory=ScheduleConfig)  # scales beta over steps
    free_bits: float = 0.0           # λ: KL of each group counts as max(λ, batch mean) (Kingma et al. 2016)
    free_bits_groups: int = 0        # 0: per latent dimension; G: G groups of consecutive dimensions
    regularizers: tuple[RegularizerConfig, ...] = ()
    deterministic: bool = False      # decode z = μ(x) instead of z ~ q(z|x): the autoencoder form (pre-training)
    corruption: str = "none"         # denoising AE: none | gaussian | masking | salt-and-pepper
    corruption_level: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"          # adam | adamw | sgd
    lr: float = 1e-3
    betas: tuple[float, ...] = (0.9, 0.999)  # adam/adamw (β1, β2); DCGAN (Radford et al. 2016): (0.5, 0.999)
    weight_decay: float = 0.0
    lr_decay: float = 1.0            # multiply the learning rate by this after every epoch
    grad_clip: float | None = None   # max global gradient norm
    seed: int = 0
    checkpoint_every: int = 1        # epochs
    time_limit_minutes: float | None = None  # stop (with a checkpoint) after the epoch that passes it
    threads: int | None = None       # torch.set_num_threads; None keeps torch's choice
    progress: bool = True
    epoch_size: int | None = None    # examples per epoch, drawn afresh from the whole set each epoch (None: all)
    pretrain_epochs: int = 0         # epochs with KL weight 0 first (autoencoder pre-training, Li et al. 2019)
    reset_decoder: bool = False      # re-initialise the decoder after pre-training (Li et al. 2019)
    discriminator_lr: float = 1e-4   # the discriminator's Adam (FactorVAE's D(z), a GAN's D(x))
    discriminator_betas: tuple[float, ...] = (0.5, 0.9)  # FactorVAE: (0.5, 0.9); DCGAN: (0.5, 0.999)
    backend: str = "auto"            # under torchrun: auto (nccl with CUDA, else gloo) | gloo | nccl
    distributed_timeout_minutes: float = 10.0  # under torchrun: wait this long for the other ranks
    device: str = "auto"             # auto (cuda when torch sees a GPU, else cpu) | cpu | cuda
    precision: str = "fp32"          # fp32 | bf16 | fp16 (torch.autocast; fp16 with loss scaling)
    compile: bool = False            # torch.compile the model's networks (needs a C++ compiler on CPUs)


@dataclass(frozen=True)
class EvalConfig:
    importance_samples: int = 1000   # k of the importance-sampled log p(x) (IWAE bound); chains of ais
    estimator: str = "is"            # is (importance sampling with q) | ais (annealed IS, HMC) | prior (naive MC)
    sample_chunk: int = 500          # samples decoded at once (bounds memory)
    batch_size: int = 100
    max_examples: int | None = None  # evaluate on the first N test examples only
    ais_steps: int = 500             # ais: T annealing distributions, sigmoid schedule 0 = β_0 < … < β_T = 1
    ais_leapfrog_steps: int = 10     # ais: L leapfrog steps per HMC transition (cost: 1 + (T−1)·L decodes per chain)
    ais_step_size: float = 0.05      # ais: initial HMC step size, adapted per chain toward acceptance 0.65
    ais_start: str = "prior"         # ais: f_0 = p(z) (prior) or q(z|x) (posterior)
    gan_noise_std: float = 0.025 ** 0.5  # gan: σ of the added p(x|z) = N(g(z), σ² I) (Wu et al. 2017: σ² = 0.025)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)
    run_dir: str = "runs/default"


def _short(value: Any) -> str:
    """repr of a config value, cut short: a YAML alias bomb must not print (or build) a huge string."""
    shortener = reprlib.Repr()
    shortener.maxlevel, shortener.maxlist, shortener.maxdict, shortener.maxstring = 2, 4, 4, 60
    return shortener.repr(value)


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check ``value`` against a field annotation (str, int, float, bool, tuples, Optional)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        inner = [option for option in options if option is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {_short(value)}")
        item_type = typing.get_args(annotation)[0]
        if dataclasses.is_dataclass(item_type):
            return tuple(from_dict(item_type, item, f"{key}[{i}].") for i, item in enumerate(value))
        return tuple(_coerce(item, item_type, f"{key}[{i}]") for i, item in enumerate(value))
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{key}: expected a finite number, got {value!r}")
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    else:
        raise ConfigError(f"{key}: unsupported field type {annotation!r}")
    raise ConfigError(f"{key}: expected {annotation.__name__}, got {_short(value)} ({type(value).__name__})")


def from_dict(cls: type, values: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict, rejecting unknown keys and wrong types."""
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {_short(values)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"{prefix.rstrip('.') or 'config'} accepts: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = from_dict(hint, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, hint, prefix + name)
            problem = range_problem(cls, name, kwargs[name], prefix + name)
            if problem:
                raise ConfigError(problem)
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict (tuples as lists) suitable for YAML/JSON."""
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return plain(dataclasses.asdict(config))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"model.latent_dim=2"`` → (["model", "latent_dim"], 2); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key.sub=value")
    key, raw = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else ""


def merge(values: dict[str, Any], path: list[str], value: Any) -> None:
    node = values
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {'.'.join(path)}: {part} is not a section")
    node[path[-1]] = value


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> RunConfig:
    """Defaults < YAML file at ``path`` < ``overrides`` (``section.key=value``)."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {yaml_problem(error)}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a mapping of sections, got {type(values).__name__}")
    for text in overrides:
        merge(values, *parse_override(text))
    return from_dict(RunConfig, values)


def yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong and where (PyYAML's own message spans several)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def save_config(config: RunConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
