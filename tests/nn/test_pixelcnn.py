"""Masked convolutions: the PixelCNN's logit of pixel i reads only the pixels before i in raster order."""
import pytest
import torch

from vaekit.nn import MaskedConv2d, PixelCNN


def test_masks_hide_the_future_and_mask_a_also_the_centre():
    mask_a = MaskedConv2d(1, 1, 7, "A").mask[0, 0]
    mask_b = MaskedConv2d(1, 1, 3, "B").mask[0, 0]
    expected_a = torch.zeros(7, 7)
    expected_a[:3] = 1                                  # rows above the centre
    expected_a[3, :3] = 1                               # left of the centre on its row
    expected_b = torch.tensor([[1.0, 1, 1], [1, 1, 0], [0, 0, 0]])
    assert torch.equal(mask_a, expected_a) and torch.equal(mask_b, expected_b)
    with pytest.raises(ValueError, match="mask_type must be 'A' or 'B'"):
        MaskedConv2d(1, 1, 3, "C")


def test_logit_i_has_zero_gradient_wrt_every_pixel_j_at_or_after_i():
    """∂ logit_i / ∂ x_j = 0 for j ≥ i (raster order), and ≠ 0 for the left and upper neighbours."""
    side = 6
    network = PixelCNN(channels=8, layers=4).double()
    x = torch.bernoulli(torch.full((1, 1, side, side), 0.5, dtype=torch.double))
    condition = torch.randn(1, 8, side, side, dtype=torch.double)
    jacobian = torch.autograd.functional.jacobian(lambda image: network(image, condition).flatten(), x)
    jacobian = jacobian.view(side * side, side * side)                      # [i, j] = ∂ logit_i / ∂ x_j
    assert torch.all(jacobian.triu() == 0)                                  # j ≥ i, diagonal included
    left = [(i, i - 1) for i in range(side * side) if i % side]
    above = [(i, i - side) for i in range(side, side * side)]
    assert all(jacobian[i, j] != 0 for i, j in left + above)


def test_rows_below_do_not_change_the_logits_above():
    """What ``PixelCNNBernoulli.sample`` relies on to stop each pass at the current row."""
    network = PixelCNN(channels=4, layers=3).double()
    x = torch.bernoulli(torch.full((2, 1, 5, 5), 0.5, dtype=torch.double))
    condition = torch.randn(2, 4, 5, 5, dtype=torch.double)
    full = network(x, condition)
    for row in range(5):
        torch.testing.assert_close(network(x[:, :, :row + 1], condition[:, :, :row + 1]), full[:, :, :row + 1])


def test_wrong_condition_shape_is_named():
    with pytest.raises(ValueError, match=r"condition \(N, 4, H, W\), got \(2, 1, 5, 5\) and \(2, 3, 5, 5\)"):
        PixelCNN(channels=4, layers=2)(torch.zeros(2, 1, 5, 5), torch.zeros(2, 3, 5, 5))
