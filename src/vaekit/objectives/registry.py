"""The objective table: ``OBJECTIVES[name](model, x, config, step=0, dataset_size=None) -> (loss, terms)``.

``loss`` is a scalar, or a dict of scalars each minimised by its own optimizer (FactorVAE)."""
from __future__ import annotations

from typing import Callable

import torch

from vaekit.registry import Registry

# terms: scalar tensors averaged over the batch, in nats per data point
Objective = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]
OBJECTIVES: Registry[Objective] = Registry("objective")
