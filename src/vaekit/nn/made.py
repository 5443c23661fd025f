"""MADE: a masked autoencoder for distribution estimation (Germain et al. 2015), with a context.

Each input variable z_d gets a degree m(d) ∈ {1..D}, its position in the autoregressive order;
each hidden unit k a degree m_k ∈ {0..D−1}. Connections are kept only where they respect the
order (Germain et al. 2015, eq. 12-13):

    hidden ← input:   M[k, d] = 1  iff  m_k ≥ m(d)
    hidden ← hidden:  M[k, j] = 1  iff  m_k ≥ m_j
    output ← hidden:  M[o, k] = 1  iff  m(d_o) > m_k

so output o (which belongs to variable d_o) depends on z_j only for m(j) < m(d_o). A context h,
which does not depend on z, is added unmasked to the first hidden layer (IAF, Kingma et al.
2016, §4): hidden units of degree 0 see the context alone, so even the first variable's outputs
depend on h. Nothing probabilistic lives here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vaekit.nn.mlp import activation


class MaskedLinear(nn.Linear):
    """y = (W ⊙ M) x + b with a fixed binary mask M of the weight's shape (out, in)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask.to(self.weight.dtype), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """z (..., D) and context h (..., C) → ``num_outputs`` tensors (..., D), output i of variable d
    autoregressive in ``order`` (a permutation of 0..D−1 listing the variables first to last).

    ``MADE(4, (32, 32), context_size=8, num_outputs=2)(z, h)`` returns (m, s), each (..., 4).
    """

    def __init__(self, num_inputs: int, hidden: tuple[int, ...], context_size: int = 0, num_outputs: int = 1,
                 order: torch.Tensor | None = None, act: str = "elu"):
        super().__init__()
        if num_inputs < 1 or not hidden or min(hidden) < 1 or context_size < 0 or num_outputs < 1:
            raise ValueError(f"MADE needs num_inputs >= 1, at least one hidden layer of width >= 1, "
                             f"context_size >= 0 and num_outputs >= 1, got {num_inputs}, {hidden}, "
                             f"{context_size}, {num_outputs}")
        order = torch.arange(num_inputs) if order is None else torch.as_tensor(order)
        if sorted(order.tolist()) != list(range(num_inputs)):
            raise ValueError(f"order must be a permutation of 0..{num_inputs - 1}, got {order.tolist()}")
        self.num_inputs, self.num_outputs = num_inputs, num_outputs
        input_degrees = torch.empty(num_inputs, dtype=torch.long)
        input_degrees[order] = torch.arange(1, num_inputs + 1)                    # m(d) = position in the order
        self.register_buffer("input_degrees", input_degrees, persistent=False)
        degrees = [input_degrees]
        for width in hidden:                                                        # m_k cycles through 0..D−1
            degrees.append(torch.arange(width) % num_inputs)
        self.hidden_layers = nn.ModuleList(
            MaskedLinear((later[:, None] >= earlier[None, :]).float())             # (width_out, width_in)
            for earlier, later in zip(degrees[:-1], degrees[1:]))
        output_degrees = input_degrees.repeat(num_outputs)                          # output o = i·D + d
        self.output_layer = MaskedLinear((output_degrees[:, None] > degrees[-1][None, :]).float())
        self.context_layer = nn.Linear(context_size, hidden[0], bias=False) if context_size else None
        self.act = activation(act)

    def forward(self, z: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        hidden = self.hidden_layers[0](z)                                           # (..., H_1)
        if self.context_layer is not None:
            hidden = hidden + self.context_layer(context)                           # h broadcasts over samples
        hidden = self.act(hidden)
        for layer in self.hidden_layers[1:]:
            hidden = self.act(layer(hidden))
        out = self.output_layer(hidden)                                             # (..., num_outputs·D)
        return out.unflatten(-1, (self.num_outputs, self.num_inputs)).unbind(-2)    # num_outputs × (..., D)
