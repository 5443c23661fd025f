import pytest
import torch

from vaekit.data import corrupt

GREY = torch.full((200, 1, 10, 10), 0.5)  # 20,000 pixels: a fraction's std is below 0.004


def test_masking_zeroes_the_expected_fraction():
    noisy = corrupt(GREY, "masking", 0.3, torch.Generator().manual_seed(0))
    assert abs((noisy == 0).float().mean() - 0.3) < 0.02
    assert torch.all((noisy == 0) | (noisy == 0.5))


def test_salt_and_pepper_sets_half_to_zero_and_half_to_one():
    noisy = corrupt(GREY, "salt-and-pepper", 0.4, torch.Generator().manual_seed(0))
    assert abs((noisy == 0).float().mean() - 0.2) < 0.02
    assert abs((noisy == 1).float().mean() - 0.2) < 0.02
    assert abs((noisy == 0.5).float().mean() - 0.6) < 0.02


def test_gaussian_has_the_requested_spread_and_stays_in_range():
    noisy = corrupt(GREY, "gaussian", 0.1, torch.Generator().manual_seed(0))
    assert abs((noisy - GREY).std() - 0.1) < 0.005 and abs((noisy - GREY).mean()) < 0.005
    clamped = corrupt(GREY, "gaussian", 2.0, torch.Generator().manual_seed(0))
    assert clamped.min() == 0 and clamped.max() == 1
    assert abs((clamped == 1).float().mean() - 0.4) < 0.02  # P(N(0, 4) > 0.5) = 0.401


def test_reproducible_and_input_untouched():
    original = GREY.clone()
    first = corrupt(GREY, "masking", 0.5, torch.Generator().manual_seed(5))
    assert torch.equal(corrupt(GREY, "masking", 0.5, torch.Generator().manual_seed(5)), first)
    assert torch.equal(GREY, original)
    assert torch.equal(corrupt(GREY, "salt-and-pepper", 0.0), GREY)


def test_validation():
    with pytest.raises(ValueError, match="expected one of gaussian, masking, salt-and-pepper"):
        corrupt(GREY, "blur", 0.1)
    with pytest.raises(ValueError, match=r"level >= 0, got -0\.1"):
        corrupt(GREY, "gaussian", -0.1)
    with pytest.raises(ValueError, match=r"masking needs a probability level in \[0, 1\], got 1\.5"):
        corrupt(GREY, "masking", 1.5)
