"""The MLP's activations: vaekit's tanh (2σ(2x) − 1) against torch.tanh in value, gradient and
second derivative."""
import pytest
import torch

from vaekit.nn import MLP, activation
from vaekit.nn.mlp import Tanh


def test_tanh_equals_torch_tanh_within_float_rounding_over_its_whole_range():
    x = torch.cat([torch.linspace(-30, 30, 100_001), torch.tensor([0.0, 1e-30, -1e-30, 1e-4, 88.0, -88.0])])
    assert (Tanh()(x) - torch.tanh(x)).abs().max() <= 2.5e-7
    assert Tanh()(torch.tensor([float("inf"), -float("inf")])).tolist() == [1.0, -1.0]
    assert Tanh()(torch.tensor(float("nan"))).isnan()
    wide = torch.linspace(-20, 20, 4001, dtype=torch.float64)
    assert (Tanh()(wide) - torch.tanh(wide)).abs().max() <= 1e-15


def test_tanh_gradients_are_those_of_tanh_to_second_order():
    x = torch.randn(40, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Tanh(), (x,)) and torch.autograd.gradgradcheck(Tanh(), (x,))
    grad, = torch.autograd.grad(Tanh()(x).sum(), x)
    assert torch.allclose(grad, 1 - torch.tanh(x) ** 2, atol=1e-14)


def test_tanh_mlps_use_it_and_match_a_torch_tanh_network():
    torch.manual_seed(0)
    net = MLP(5, (16, 16), 3, act="tanh")
    assert isinstance(activation("tanh"), Tanh) and sum(isinstance(m, Tanh) for m in net) == 2
    reference = torch.nn.Sequential(*[torch.nn.Tanh() if isinstance(m, Tanh) else m for m in net])
    x = torch.randn(64, 5)
    assert torch.allclose(net(x), reference(x), atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_tanh_in_half_precision_is_torch_tanh_within_its_rounding(dtype):
    x = torch.linspace(-6, 6, 1001).to(dtype)
    assert (Tanh()(x).float() - torch.tanh(x.float())).abs().max() <= 2 * torch.finfo(dtype).eps
