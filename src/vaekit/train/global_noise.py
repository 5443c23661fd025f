"""One rank's random draws as its rows of the draws one process makes for the whole global batch.

Data-parallel ranks split each global batch of n examples into shards. For W ranks to compute
what one process computes, rank r's noise for its examples must be the numbers that process
draws for them. Inside ``GlobalBatchNoise(rows, n)``, a draw of standard normal or uniform numbers
(``Tensor.normal_``, ``uniform_``, ``torch.randn``, ``rand``, ``randn_like``, ``rand_like``) whose
shape has the local batch size b = len(rows) at some dimension d (the first such) is made with
size n at d, and its ``rows`` along d are returned:

    ε_local = ε_global.narrow(d, rows.start, b),    ε_global ~ the one process's draw, shape[d] = n

So z = μ + σ ⊙ ε (``Normal.rsample``), the MMD's prior draws, corruption noise and word dropout
equal the one-process numbers example by example, and every rank advances the generator exactly
as that process does. Draws of other kinds (dropout masks, ``randperm``, ``bernoulli(p)``) keep the
local shape: the same numbers on every rank, not the one-process ones. A draw whose first
dimension of size b is not the batch (k = b samples of z) is made along it: still independent
numbers of the same count, but not the one-process ones.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.overrides import TorchFunctionMode

FILLS = frozenset({torch.Tensor.normal_, torch.Tensor.uniform_})
FACTORIES = frozenset({torch.randn, torch.rand})
LIKE = {torch.randn_like: torch.randn, torch.rand_like: torch.rand}
FACTORY_OPTIONS = frozenset({"generator", "dtype", "device"})


class GlobalBatchNoise(TorchFunctionMode):
    """``with GlobalBatchNoise(rows, num_rows): objective(model, x[rows], ...)``."""

    def __init__(self, rows: slice, num_rows: int):
        super().__init__()
        self.start, self.length, self.num_rows = rows.start, rows.stop - rows.start, num_rows

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FILLS and args[0].is_contiguous():
            dim = self._batch_dim(args[0].shape)
            if dim is not None:
                full = func(args[0].new_empty(self._global(args[0].shape, dim)), *args[1:], **kwargs)
                return args[0].copy_(full.narrow(dim, self.start, self.length))
        elif func in FACTORIES and set(kwargs) <= FACTORY_OPTIONS:
            size = _size(args)
            dim = self._batch_dim(size)
            if dim is not None:
                return func(self._global(size, dim), **kwargs).narrow(dim, self.start, self.length).contiguous()
        elif func in LIKE and set(kwargs) <= FACTORY_OPTIONS - {"generator"} and args[0].is_contiguous():
            like = args[0]
            return self.__torch_function__(LIKE[func], types, (like.shape,),
                                           {"dtype": like.dtype, "device": like.device, **kwargs})
        return func(*args, **kwargs)

    def _batch_dim(self, shape: Sequence[int]) -> int | None:
        if self.length == self.num_rows:                  # one rank: its draws are the global ones
            return None
        return next((dim for dim, size in enumerate(shape) if size == self.length), None)

    def _global(self, shape: Sequence[int], dim: int) -> tuple[int, ...]:
        return (*shape[:dim], self.num_rows, *shape[dim + 1:])


def _size(args: tuple) -> tuple[int, ...]:
    """``torch.randn(2, 3)`` and ``torch.randn((2, 3))`` alike."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], Sequence) else tuple(args)
