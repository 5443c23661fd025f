"""The allowed range of every numeric config field, checked when a config is read.

``vaekit.config.from_dict`` calls :func:`range_problem` for each value it reads, so a size of 0,
a negative learning rate or a probability above 1 stops with the key, the range and the value
before any run folder exists. Every float must also be finite (checked in ``config._coerce``).
Keys are ``ClassName.field``; for a tuple field the range applies to each item.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """low ≤ value ≤ high (an end excluded where ``open_low``/``open_high``)."""

    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>' if self.open_low else '≥'} {self.low:g}"
        return f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}{')' if self.open_high else ']'}"


SIZE = Range(1)                            # counts and widths: ≥ 1
COUNT = Range(0)                           # ≥ 0
POSITIVE = Range(0, open_low=True)         # rates, scales, step sizes: > 0
PROBABILITY = Range(0, 1)
FRACTION_BELOW_1 = Range(0, 1, open_high=True)

RANGES: dict[str, Range] = {
    "DataConfig.valid_fraction": FRACTION_BELOW_1,
    "DataConfig.max_length": SIZE,
    **{f"ModelConfig.{name}": SIZE for name in (
        "hidden", "conv_channels", "image_shape", "pixelcnn_layers", "pixelcnn_channels",
        "discriminator_hidden", "embedding_dim", "rnn_hidden", "flow_length", "flow_scales", "flow_hidden",
        "flow_context", "prior_components", "latent_dims", "hidden_upper")},
    "ModelConfig.latent_dim": COUNT,        # 0: the language model (no latent); image models need ≥ 1
    "ModelConfig.vocab_size": COUNT,
    "ModelConfig.likelihood_scale": POSITIVE,
    "ModelConfig.word_dropout": PROBABILITY,
    "ModelConfig.embedding_dropout": PROBABILITY,
    "ScheduleConfig.steps": COUNT,
    "ScheduleConfig.start": PROBABILITY,
    "ScheduleConfig.cycles": SIZE,
    "ScheduleConfig.ratio": Range(0, 1, open_low=True),
    "RegularizerConfig.weight": COUNT,
    "RegularizerConfig.capacity": COUNT,
    "RegularizerConfig.diagonal_weight": COUNT,
    "ObjectiveConfig.num_samples": SIZE,
    "ObjectiveConfig.beta": COUNT,
    "ObjectiveConfig.free_bits": COUNT,
    "ObjectiveConfig.free_bits_groups": COUNT,
    "ObjectiveConfig.corruption_level": COUNT,
    "TrainConfig.epochs": SIZE,
    "TrainConfig.batch_size": SIZE,
    "TrainConfig.lr": POSITIVE,
    "TrainConfig.betas": FRACTION_BELOW_1,
    "TrainConfig.weight_decay": COUNT,
    "TrainConfig.lr_decay": POSITIVE,
    "TrainConfig.grad_clip": POSITIVE,
    "TrainConfig.seed": COUNT,
    "TrainConfig.checkpoint_every": SIZE,
    "TrainConfig.time_limit_minutes": POSITIVE,
    "TrainConfig.threads": SIZE,
    "TrainConfig.epoch_size": SIZE,
    "TrainConfig.pretrain_epochs": COUNT,
    "TrainConfig.discriminator_lr": POSITIVE,
    "TrainConfig.discriminator_betas": FRACTION_BELOW_1,
    "TrainConfig.distributed_timeout_minutes": POSITIVE,
    "EvalConfig.importance_samples": COUNT,
    "EvalConfig.sample_chunk": SIZE,
    "EvalConfig.batch_size": SIZE,
    "EvalConfig.max_examples": SIZE,
    "EvalConfig.ais_steps": SIZE,
    "EvalConfig.ais_leapfrog_steps": SIZE,
    "EvalConfig.ais_step_size": POSITIVE,
    "EvalConfig.gan_noise_std": POSITIVE,
}


# The settings of `vaekit experiment NAME` (dataclasses in vaekit.experiments), ranged by name and type:
# counts, sizes and epochs ≥ 1; rates, limits and tolerances > 0; dropout rates, fractions, ratios and
# corruption levels in [0, 1]; weights of regularizers ≥ 0.
SETTING_COUNTS = {"seed", "pretrain_epochs", "arithmetic_from", "arithmetic_to", "num_fixed_codes"}
SETTING_WEIGHTS = {"free_bits", "image_free_bits", "tcvae_beta", "factor_gamma", "betas", "gaussian_levels"}
SETTING_PROBABILITIES = ("_dropout", "fraction", "_ratio", "masking_levels", "salt_and_pepper_levels",
                         "min_classifier_accuracy")


def setting_range(name: str, value: Any) -> Range:
    """The range of experiment setting ``name`` whose value (or first item) is ``value``."""
    first = value[0] if isinstance(value, tuple) and value else value
    if isinstance(first, int) and not isinstance(first, bool):
        return COUNT if name in SETTING_COUNTS else SIZE
    if name in SETTING_WEIGHTS:
        return COUNT
    if name.endswith(SETTING_PROBABILITIES) or name.startswith(("max_fraction", "min_fraction")):
        return PROBABILITY
    return POSITIVE


def _numbers(value: Any) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in items)


def range_problem(owner: type, name: str, value: Any, key: str) -> str | None:
    """Why ``value`` of field ``name`` (config key ``key``) of class ``owner`` is out of range, or None."""
    allowed = None
    if owner.__module__ == "vaekit.config":
        allowed = RANGES.get(f"{owner.__name__}.{name}")
    elif owner.__module__.startswith("vaekit.experiments.") and _numbers(value):
        allowed = setting_range(name, value)
    if allowed is None or value is None:
        return None
    items = value if isinstance(value, tuple) else (value,)
    for index, item in enumerate(items):
        if item not in allowed:
            where = f"{key}[{index}]" if isinstance(value, tuple) else key
            return f"{where} must be {allowed}, got {item!r}"
    return None
