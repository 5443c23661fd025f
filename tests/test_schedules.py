"""Schedules and free bits against their defining formulas."""
import math

import pytest
import torch

from vaekit.config import ConfigError, ScheduleConfig
from vaekit.schedules import free_bits_kl, schedule_factor


def test_constant_is_one():
    assert schedule_factor(ScheduleConfig(), 0) == schedule_factor(ScheduleConfig(), 10**6) == 1.0


def test_linear_warm_up_rises_from_start_to_one_then_holds():
    config = ScheduleConfig(kind="linear", steps=100, start=0.2)
    assert schedule_factor(config, 0) == pytest.approx(0.2)
    assert schedule_factor(config, 50) == pytest.approx(0.6)
    assert schedule_factor(config, 100) == schedule_factor(config, 500) == 1.0


def test_sigmoid_is_logistic_centred_at_half_the_steps():
    config = ScheduleConfig(kind="sigmoid", steps=1000)
    assert schedule_factor(config, 500) == pytest.approx(0.5)
    assert schedule_factor(config, 0) == pytest.approx(1 / (1 + math.exp(5)))
    assert schedule_factor(config, 750) == pytest.approx(1 / (1 + math.exp(-2.5)))
    values = [schedule_factor(config, t) for t in range(0, 2000, 50)]
    assert values == sorted(values) and values[-1] > 0.999


def test_cyclical_follows_fu_et_al():
    """T = 100 steps, M = 4 cycles of 25, R = 0.5: rise over 12.5 steps, hold, restart."""
    config = ScheduleConfig(kind="cyclical", steps=100, cycles=4, ratio=0.5)
    expected = {0: 0.0, 5: 0.4, 12.5: 1.0, 20: 1.0, 25: 0.0, 30: 0.4, 74: 1.0, 75: 0.0, 99: 1.0, 100: 1.0, 400: 1.0}
    for step, value in expected.items():
        assert schedule_factor(config, step) == pytest.approx(value), step


@pytest.mark.parametrize("config, message", [
    (ScheduleConfig(kind="cosine", steps=10), "kind must be one of"),
    (ScheduleConfig(kind="linear", steps=0), "steps must be > 0"),
    (ScheduleConfig(kind="cyclical", steps=10, ratio=0.0), "ratio must lie in"),
    (ScheduleConfig(kind="linear", steps=10, start=2.0), "start must lie in"),
])
def test_bad_schedules_are_named(config, message):
    with pytest.raises(ConfigError, match=message):
        schedule_factor(config, 1)


def test_free_bits_per_dimension_is_sum_of_max_of_threshold_and_batch_mean():
    kl = torch.tensor([[0.1, 2.0, 0.6], [0.3, 4.0, 0.2]], requires_grad=True)   # batch means 0.2, 3.0, 0.4
    value = free_bits_kl(kl, threshold=0.5)
    assert value.item() == pytest.approx(0.5 + 3.0 + 0.5)
    value.backward()
    assert torch.equal(kl.grad, torch.tensor([[0.0, 0.5, 0.0], [0.0, 0.5, 0.0]]))  # no pull below λ


def test_free_bits_groups_and_total():
    kl = torch.tensor([[0.1, 0.2, 1.0, 1.5]])
    assert float(free_bits_kl(kl, 0.5, groups=2)) == pytest.approx(0.5 + 2.5)
    assert float(free_bits_kl(kl, 3.0, groups=1)) == pytest.approx(3.0)
    assert float(free_bits_kl(kl, 0.0)) == pytest.approx(2.8)
    with pytest.raises(ConfigError, match="must divide the latent size 4"):
        free_bits_kl(kl, 0.5, groups=3)
