"""Minibatches as index tensors into data held in memory (`images[index]`), and a train/valid split."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import torch

from vaekit.data.image_data import ImageData
from vaekit.data.text import TextData


def iterate_minibatches(
    num_examples: int,
    batch_size: int,
    *,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[torch.Tensor]:
    """One epoch of index batches: a single permutation (or arange), cut into slices of batch_size."""
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    order = torch.randperm(num_examples, generator=generator) if shuffle else torch.arange(num_examples)
    stop = num_examples - num_examples % batch_size if drop_last else num_examples
    return (order[start : start + batch_size] for start in range(0, stop, batch_size))


def split_train_valid(data: ImageData | TextData, valid_fraction: float,
                      seed: int) -> tuple[ImageData | TextData, ImageData | TextData | None]:
    """Hold out round(valid_fraction * N) random examples, chosen by `seed`; fraction 0 gives (data, None)."""
    if not 0 <= valid_fraction < 1:
        raise ValueError(f"valid_fraction must lie in [0, 1), got {valid_fraction}.")
    if valid_fraction == 0:
        return data, None
    num_valid = round(valid_fraction * len(data))
    if not 0 < num_valid < len(data):
        raise ValueError(
            f"valid_fraction={valid_fraction} of {len(data)} examples leaves {num_valid} for validation "
            f"and {len(data) - num_valid} for training; both need at least one."
        )
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return _subset(data, order[num_valid:], data.name), _subset(data, order[:num_valid], f"{data.name}-valid")


def _subset(data: ImageData | TextData, index: torch.Tensor, name: str) -> ImageData | TextData:
    if isinstance(data, TextData):
        return dataclasses.replace(data, tokens=data.tokens[index], name=name)
    labels = None if data.labels is None else data.labels[index]
    return dataclasses.replace(data, images=data.images[index], labels=labels, name=name)
