"""Multilayer perceptron with configurable widths and activation."""
from __future__ import annotations

import torch
from torch import nn


class _SigmoidTanh(torch.autograd.Function):
    """y = tanh(x) = 2σ(2x) − 1, dy/dx = 1 − y²."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = torch.sigmoid(x * 2).mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


class Tanh(nn.Module):
    """tanh computed as 2σ(2x) − 1 (equal to ``torch.tanh`` within float rounding, ≤ 2·10⁻⁷ absolute
    in float32): this torch's CPU tanh kernel is 3–4× slower than its sigmoid, and the 2×200 tanh of
    Burda et al.'s decoder were 18 % of an importance-sampled log p(x) (``bench/evaluate_speed.py``).
    The backward pass is torch's own, (1 − y²)·g."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SigmoidTanh.apply(x)


ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": Tanh,
    "softplus": nn.Softplus,
    "elu": nn.ELU,
    "leaky-relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(nn.Sequential):
    """x → Linear → act → ... → Linear → y, acting on the last dimension.

    ``MLP(784, (400,), 40)`` is 784-400-40; with ``hidden=()`` it is one linear map.
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...], out_features: int, act: str = "relu"):
        widths = (in_features, *hidden)
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(width_in, width_out), activation(act)]
        layers.append(nn.Linear(widths[-1], out_features))
        super().__init__(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)
