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


def labelled_rows(rows: list[tuple[str, torch.Tensor]], title: str | None = None, fontsize: int = 9):
    """A matplotlib figure with one labelled row of images (N, C, H, W) in [0, 1] per entry."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(len(images) for _, images in rows)
    figure, axes = plt.subplots(len(rows), 1, figsize=(1.2 + 0.6 * columns, 0.3 + 0.7 * len(rows)
                                                       + (0.3 if title else 0)), squeeze=False)
    for axis, (label, images) in zip(axes[:, 0], rows):
        grid = image_grid(images, columns)
        axis.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1,
                    interpolation="nearest")
        axis.set_xticks([]), axis.set_yticks([])
        axis.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=fontsize)
    if title:
        axes[0, 0].set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


def save_image_grid(path: str | Path, images: torch.Tensor, columns: int | None = None,
                    title: str | None = None, row_labels: list[str] | None = None) -> Path:
    """Save a grid of images as PNG; ``row_labels`` name each row (e.g. "data", "reconstruction")."""
    import matplotlib.pyplot as plt

    columns = columns or math.ceil(math.sqrt(len(images)))
    starts = range(0, len(images), columns)
    labels = row_labels or [""] * len(starts)
    figure = labelled_rows([(label, images[start:start + columns]) for label, start in zip(labels, starts)], title)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)
