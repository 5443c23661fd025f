"""Input corruption for the denoising autoencoder (Vincent et al. 2008/2010): x~ ~ q(x~|x)."""
from __future__ import annotations

import torch


def _gaussian(images: torch.Tensor, level: float, generator: torch.Generator | None) -> torch.Tensor:
    """x~ = clamp(x + e, 0, 1) with e ~ N(0, level^2)."""
    noise = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
    return (images + level * noise).clamp(0, 1)


def _masking(images: torch.Tensor, level: float, generator: torch.Generator | None) -> torch.Tensor:
    """Each pixel set to 0 with probability level."""
    uniform = torch.rand(images.shape, generator=generator, device=images.device)
    return images.masked_fill(uniform < level, 0)


def _salt_and_pepper(images: torch.Tensor, level: float, generator: torch.Generator | None) -> torch.Tensor:
    """Each pixel with probability level set to 0 or 1, with equal chance."""
    hit, value = torch.rand((2, *images.shape), generator=generator, device=images.device)
    return torch.where(hit < level, (value < 0.5).to(images.dtype), images)


_CORRUPTIONS = {"gaussian": _gaussian, "masking": _masking, "salt-and-pepper": _salt_and_pepper}


def corrupt(
    images: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Corrupt images in [0, 1]: "gaussian" (level = std, >= 0), "masking" or "salt-and-pepper"
    (level = probability per pixel, in [0, 1])."""
    if kind not in _CORRUPTIONS:
        raise ValueError(f"Unknown corruption {kind!r}: expected one of {', '.join(_CORRUPTIONS)}.")
    if kind == "gaussian" and not level >= 0:
        raise ValueError(f"gaussian noise needs a standard deviation level >= 0, got {level}.")
    if kind != "gaussian" and not 0 <= level <= 1:
        raise ValueError(f"{kind} needs a probability level in [0, 1], got {level}.")
    return _CORRUPTIONS[kind](images, level, generator)
