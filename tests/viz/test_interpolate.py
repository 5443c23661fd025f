import torch

from vaekit.viz import image_grid, interpolate


def test_paths_hit_both_endpoints_exactly():
    z0, z1 = torch.randn(3, 5), torch.randn(3, 5)
    for method in ("linear", "slerp"):
        path = interpolate(z0, z1, 7, method)
        assert path.shape == (7, 3, 5)
        assert torch.equal(path[0], z0) and torch.equal(path[-1], z1), method


def test_slerp_between_equal_norms_keeps_the_norm_and_linear_does_not():
    z0 = torch.tensor([[3.0, 0.0]])
    z1 = torch.tensor([[0.0, 3.0]])
    torch.testing.assert_close(interpolate(z0, z1, 9, "slerp").norm(dim=-1), torch.full((9, 1), 3.0))
    assert interpolate(z0, z1, 9, "linear").norm(dim=-1)[4] < 2.2            # 3/√2 at the midpoint


def test_image_grid_places_images_row_major():
    images = torch.arange(6, dtype=torch.float).view(6, 1, 1, 1) / 8                # exact in binary
    grid = image_grid(images, columns=3, padding=1)
    assert grid.shape == (5, 7, 1)
    assert grid[1, 1, 0] == 0.0 and grid[1, 5, 0] == 2 / 8 and grid[3, 1, 0] == 3 / 8 and grid[0, 0, 0] == 1.0
