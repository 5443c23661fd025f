"""Multilayer perceptron with configurable widths and activation."""
from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
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
