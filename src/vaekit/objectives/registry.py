"""The objective table: ``OBJECTIVES[name](model, x, config) -> (loss, terms)``."""
from __future__ import annotations

from typing import Callable

import torch

from vaekit.registry import Registry

# terms: scalar tensors averaged over the batch, in nats per data point
Objective = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]
OBJECTIVES: Registry[Objective] = Registry("objective")
