"""The in-memory form of every image data set: one tensor of images, optional labels, a name."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True, eq=False)
class ImageData:
    """Images as float32 in [0, 1], channels first; batches are taken as `images[index]`."""

    images: torch.Tensor  # (N, C, H, W) float32 in [0, 1]
    labels: torch.Tensor | None  # (N,) int64, or None for unlabelled data
    name: str

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            shape = tuple(self.images.shape)
            raise ValueError(f"{self.name}: images must have shape (N, C, H, W), got {shape}.")
        if self.labels is not None and self.labels.shape != self.images.shape[:1]:
            raise ValueError(
                f"{self.name}: labels must have shape ({len(self.images)},) to match the images, "
                f"got {tuple(self.labels.shape)}."
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        channels, height, width = self.images.shape[1:]
        return channels, height, width
