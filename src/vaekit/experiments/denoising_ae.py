"""A denoising autoencoder removes the noise it was trained on, better than a median filter.

Vincent et al. (2008, 2010): train x̂ = g(f(x̃)) with x̃ ~ q(x̃|x) a corrupted copy of x, on the
loss −log p(x | g(f(x̃))) against the clean x (here a Gaussian likelihood: squared error). Three
corruptions of vaekit.data.corrupt: additive Gaussian noise (level = σ, clipped to [0, 1]),
masking (each pixel zeroed with probability p) and salt-and-pepper (each pixel set to 0 or 1
with probability p). One model per noise type and level, trained at that level.

Measured on the test set: PSNR = 10·log10(1 / MSE) in dB, MSE per pixel of one image (pixels in
[0, 1]), averaged over the test images, for the noisy input, a 3×3 median filter of it
(scipy.ndimage.median_filter) and the DAE's output (clipped to [0, 1]). The noise on the test set
is drawn once per (type, level) from a seeded torch.Generator, so all methods see the same images.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import median_filter

from vaekit.config import ModelConfig, ObjectiveConfig
from vaekit.data import corrupt
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.viz import labelled_rows

NOISE_LABELS = {"gaussian": "σ", "masking": "p", "salt-and-pepper": "p"}


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None        # None: all 60,000 training images
    test_size: int | None = None
    gaussian_levels: tuple[float, ...] = (0.2, 0.4)          # noise std σ
    masking_levels: tuple[float, ...] = (0.25, 0.5)          # probability p of zeroing a pixel
    salt_and_pepper_levels: tuple[float, ...] = (0.1, 0.3)   # probability p of a 0-or-1 pixel
    latent_dim: int = 128
    hidden: tuple[int, ...] = (1000,)
    epochs: int = 8
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0


def psnr(images: np.ndarray, references: np.ndarray) -> float:
    """Mean over images of 10·log10(1 / MSE), MSE the mean squared pixel error of one image (peak 1)."""
    mse = ((images - references) ** 2).reshape(len(images), -1).mean(1)
    return float(np.mean(10 * np.log10(1 / mse)))


def noise_seed(seed: int, kind: str, level: float) -> int:
    """Seed of the test-set corruption for one (type, level): the same for every method."""
    return seed + 1000 * list(NOISE_LABELS).index(kind) + round(1000 * level)


def _levels(settings: Settings) -> dict[str, tuple[float, ...]]:
    return {"gaussian": settings.gaussian_levels, "masking": settings.masking_levels,
            "salt-and-pepper": settings.salt_and_pepper_levels}


@experiment("denoising-ae", "A denoising autoencoder trained on Gaussian, masking or salt-and-pepper noise "
            "restores noisy test digits better (higher PSNR) than the noisy input and than a 3×3 median filter.",
            Settings)
def run(report: Report, settings: Settings) -> None:
    train = dataset("mnist", "train", settings.train_size, settings.data_root, settings.seed)
    test = dataset("mnist", "test", settings.test_size, settings.data_root, settings.seed)
    clean = test.images.numpy()
    rows, shown = [], {}
    for kind, kind_levels in _levels(settings).items():
        margins = []
        for level in kind_levels:
            model = train_model(
                ModelConfig(kind="autoencoder", latent_dim=settings.latent_dim, hidden=settings.hidden,
                            likelihood="gaussian"),
                train, epochs=settings.epochs, lr=settings.lr, batch_size=settings.batch_size, seed=settings.seed,
                objective=ObjectiveConfig(name="reconstruction", corruption=kind, corruption_level=level))
            seed = noise_seed(settings.seed, kind, level)
            noisy = corrupt(test.images, kind, level, torch.Generator().manual_seed(seed))
            with torch.no_grad():
                denoised = model.reconstruct(noisy).mean.clamp(0, 1).numpy()
            filtered = median_filter(noisy.numpy(), size=(1, 1, 3, 3))
            scores = {"noisy": psnr(noisy.numpy(), clean), "median_filter": psnr(filtered, clean),
                      "dae": psnr(denoised, clean)}
            report.record(**{f"{kind}_{level:g}": {**scores, "noise_seed": seed}})
            rows.append([kind, f"{NOISE_LABELS[kind]}={level:g}", scores["noisy"], scores["median_filter"],
                         scores["dae"]])
            margins.append((level, scores["dae"] - max(scores["noisy"], scores["median_filter"])))
            shown[kind] = (level, noisy[:8].numpy(), filtered[:8], denoised[:8])
        report.check(f"{kind}: DAE PSNR > noisy input and > median filter at every level",
                     all(margin > 0 for _, margin in margins),
                     ", ".join(f"{NOISE_LABELS[kind]}={level:g}: DAE {margin:+.2f} dB over the better of the two"
                               for level, margin in margins))
    report.table("Test PSNR (dB, higher is better)", ["noise", "level", "noisy input", "median filter 3×3",
                 "denoising AE"], rows)
    _figures(report, rows, shown, clean[:8])


def _figures(report, rows, shown, originals) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 3.6))
    positions = np.arange(len(rows))
    for offset, (column, label) in zip((-0.27, 0, 0.27), ((2, "noisy input"), (3, "median filter 3×3"),
                                                           (4, "denoising AE"))):
        axis.bar(positions + offset, [row[column] for row in rows], width=0.27, label=label)
    axis.set_xticks(positions, [f"{row[0]}\n{row[1]}" for row in rows], fontsize=8)
    axis.set(ylabel="test PSNR (dB)", title="Denoising MNIST test digits")
    axis.legend(loc="center left", bbox_to_anchor=(1, 0.5))
    report.figure("psnr", figure, "Test PSNR of the noisy input, a 3×3 median filter and the denoising AE, "
                  "for each noise type and level.")
    rows = []
    for kind, (level, noisy, filtered, denoised) in shown.items():
        for offset, (label, images) in enumerate((("noisy input", noisy), ("median filter", filtered),
                                                  ("denoising AE", denoised), ("clean target", originals))):
            label = f"{kind} {NOISE_LABELS[kind]}={level:g}\n{label}" if offset == 0 else label
            rows.append((label, torch.as_tensor(images[:8])))
    figure = labelled_rows(rows, fontsize=7)
    report.figure("denoising", figure, "For each noise type at its highest level: noisy test digits, the median "
                  "filter's output, the denoising AE's output, and the clean targets.")
