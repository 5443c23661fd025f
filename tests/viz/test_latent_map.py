import pytest
import torch
from PIL import Image

from vaekit.viz import latent_grid, save_latent_map


def test_the_grid_is_row_major_from_the_top_left_corner():
    grid = latent_grid(3, 2.0)
    assert grid.shape == (9, 2)
    assert grid[0].tolist() == [-2.0, 2.0] and grid[2].tolist() == [2.0, 2.0]      # top row: z₂ = +limit
    assert grid[4].tolist() == [0.0, 0.0] and grid[8].tolist() == [2.0, -2.0]


@pytest.mark.parametrize("labels", [torch.arange(50) % 10, None])
def test_a_map_is_written_as_a_png(tmp_path, labels):
    path = save_latent_map(tmp_path / "map.png", torch.randn(50, 2), labels, torch.rand(16, 1, 8, 8), 2.5,
                           prior_circles=labels is not None)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1200, 600)


def test_codes_that_are_not_2d_or_a_grid_that_is_not_square_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"2-D codes of shape \(N, 2\), got \(5, 3\)"):
        save_latent_map(tmp_path / "map.png", torch.randn(5, 3), None, torch.rand(4, 1, 8, 8), 1.0)
    with pytest.raises(ValueError, match="size² images of a square grid, got 5"):
        save_latent_map(tmp_path / "map.png", torch.randn(5, 2), None, torch.rand(5, 1, 8, 8), 1.0)
