import pytest
import torch

from vaekit.data import binarize_dynamic, binarize_static, binarize_threshold

GREY = torch.rand(400, 1, 8, 8, generator=torch.Generator().manual_seed(2024))  # not a seed used below


def test_static_is_fixed_by_the_seed_alone():
    torch.manual_seed(1)
    first = binarize_static(GREY, seed=3)
    torch.manual_seed(2)
    assert torch.equal(binarize_static(GREY, seed=3), first)
    assert not torch.equal(binarize_static(GREY, seed=4), first)
    assert set(first.unique().tolist()) == {0.0, 1.0} and first.dtype == GREY.dtype


def test_static_mean_matches_the_probabilities():
    sample = binarize_static(GREY, seed=0)
    assert abs(sample.mean() - GREY.mean()) < 0.01  # std of the mean is ~0.0036
    assert sample[GREY < 0.05].mean() < 0.1 and sample[GREY > 0.95].mean() > 0.9


def test_dynamic_resamples_each_call():
    generator = torch.Generator().manual_seed(0)
    first, second = binarize_dynamic(GREY, generator), binarize_dynamic(GREY, generator)
    assert not torch.equal(first, second)
    assert abs(first.mean() - GREY.mean()) < 0.01
    assert torch.equal(binarize_dynamic(GREY, torch.Generator().manual_seed(0)), first)


def test_threshold():
    images = torch.tensor([0.0, 0.3, 0.5, 0.51, 1.0])
    assert binarize_threshold(images).tolist() == [0, 0, 0, 1, 1]
    assert binarize_threshold(images, 0.25).tolist() == [0, 1, 1, 1, 1]
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, 1\], got 2"):
        binarize_threshold(images, 2)
