"""Tile images (N, C, H, W) in [0, 1] into one picture."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch


def image_grid(images: torch.Tensor, columns: int | None = None, padding: int = 1) -> np.ndarray:
    """(N, C, H, W) → (rows·(H+p)+p, columns·(W+p)+p, C) array, row-major, white gutters."""
    if images.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(images.shape)}")
    count, channels, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.ones((rows * (height + padding) + padding, columns * (width + padding) + padding, channels))
    pixels = images.detach().cpu().clamp(0, 1).permute(0, 2, 3, 1).numpy()
    for i, image in enumerate(pixels):
        top, left = padding + (i // columns) * (height + padding), padding + (i % columns) * (width + padding)
        canvas[top:top + height, left:left + width] = image
    return canvas


def save_image_grid(path: str | Path, images: torch.Tensor, columns: int | None = None,
                    title: str | None = None, row_labels: list[str] | None = None) -> Path:
    """Save a grid of images as PNG; ``row_labels`` name each row (e.g. "data", "reconstruction")."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    grid = image_grid(images, columns)
    height = grid.shape[0]
    figure, axis = plt.subplots(figsize=(1.2 + 0.6 * columns, 0.4 + 0.6 * rows + (0.4 if title else 0)))
    axis.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1,
                interpolation="nearest")
    axis.set_xticks([])
    if row_labels:
        axis.set_yticks([(r + 0.5) * height / len(row_labels) for r in range(len(row_labels))], row_labels)
    else:
        axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)
