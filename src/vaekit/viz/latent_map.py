"""The latent map of a model with 2-D codes: where the test images land, and what each point decodes to.

Left, the codes of test images (posterior means μ(x) of a VAE, f(x) of an autoencoder) coloured by
label, with the circles of radius 1 and 2 of a prior N(0, I); right, the mean image E[x|z] at each
point z of a regular grid over the same square [−a, a]² (Kingma & Welling 2014, fig. 4, the learned
MNIST manifold; here on a linear grid rather than through the inverse Gaussian CDF).
"""
from __future__ import annotations

from pathlib import Path

import torch

from vaekit.viz.grid import image_grid


def latent_grid(size: int, limit: float) -> torch.Tensor:
    """(size², 2) points, row-major with z₂ from +limit (top row) down and z₁ from −limit (left) right."""
    values = torch.linspace(-limit, limit, size)
    z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")
    return torch.stack([z1.flatten(), z2.flatten()], 1)


def save_latent_map(path: str | Path, codes: torch.Tensor, labels: torch.Tensor | None, grid_images: torch.Tensor,
                    limit: float, prior_circles: bool = True) -> Path:
    """Scatter ``codes`` (N, 2) coloured by ``labels`` (N,) beside ``grid_images`` (size², C, H, W), the
    decodes of ``latent_grid(size, limit)``, both over [−limit, limit]²."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if codes.dim() != 2 or codes.shape[1] != 2:
        raise ValueError(f"a latent map needs 2-D codes of shape (N, 2), got {tuple(codes.shape)}")
    size = round(len(grid_images) ** 0.5)
    if size * size != len(grid_images):
        raise ValueError(f"grid_images must hold size² images of a square grid, got {len(grid_images)}")
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 6))
    z = codes.detach().cpu().numpy()
    if labels is None:
        left.scatter(z[:, 0], z[:, 1], s=3, alpha=0.6)
    else:
        scatter = left.scatter(z[:, 0], z[:, 1], c=labels.cpu().numpy(), cmap="tab10", vmin=-0.5, vmax=9.5, s=4,
                               alpha=0.7)
        figure.colorbar(scatter, ax=left, ticks=range(10), fraction=0.046, pad=0.02).set_label("label")
    if prior_circles:
        for radius in (1, 2):
            left.add_patch(plt.Circle((0, 0), radius, fill=False, color="black", ls="--", lw=1))
    left.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", xlabel="z₁", ylabel="z₂",
             title=f"codes of {len(z)} test images" + (" (dashed: radius 1, 2 of N(0, I))" if prior_circles else ""))
    grid = image_grid(grid_images, size, padding=0)
    right.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1,
                 extent=(-limit, limit, -limit, limit))
    right.set(xlabel="z₁", ylabel="z₂",
              title=f"E[x|z] on a {size}×{size} grid over [−{limit:.2g}, {limit:.2g}]²")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)
