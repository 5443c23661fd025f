"""Three ways to show a sample of a VAE: the mean of p(x|z), a draw from p(x|z), mean plus noise.

A VAE's generative model is z ~ N(0, I), x ~ p(x|z) (Kingma & Welling 2014, §2.1). Figures usually
show the mean E[x|z], which is smooth; the sample x ~ p(x|z) adds independent pixel noise: for a
Bernoulli likelihood x_i ∈ {0, 1} with P(x_i = 1) = p_i(z), variance p_i(1 − p_i); for a Gaussian
likelihood x = μ(z) + σ ⊙ ε, ε ~ N(0, I), variance σ², and values outside [0, 1] unless clamped.

Models: a Bernoulli VAE on MNIST (dynamic binarization) and a Gaussian VAE on Fashion-MNIST (grey
levels, binarize="none") with a fixed σ = 0.5 by default. σ weighs reconstruction against the KL: near
the reconstruction RMS error (≈ 0.15) the posteriors shrink to σ_q ≈ 0.05 around means spread ≈ 0.8,
prior draws fall between them and E[x|z] is a noisy non-image (TV ≈ 2× the data's); with σ = 0.5
the means of prior draws are smooth garments (TV ≈ the data's 0.078), and the samples are mostly noise
(numbers from 10,000 training images, 5 epochs).

Measured:
  total variation  TV(x) = mean |x_{i,j} − x_{i,j+1}| and |x_{i,j} − x_{i+1,j}| over neighbouring
                   pixel pairs, of means and of samples of the same z's;
  variance         at fixed z, the empirical per-pixel variance of R draws against p(1 − p) or σ²:
                   relative error Σ_i |v̂_i − v_i| / Σ_i v_i, and the value expected from sampling alone,
                   Σ_i √(2/π) sd(v̂_i) / Σ_i v_i with Var(v̂) = (μ₄ − v²(R − 3)/(R − 1)) / R.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from vaekit.config import ModelConfig
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.viz import labelled_rows


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None          # None: all 60,000 training images of each data set
    epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 128
    latent_dim: int = 20
    hidden: tuple[int, ...] = (400,)
    gaussian_likelihood: str = "gaussian"   # "gaussian": fixed σ; "gaussian-learned": one learned σ per pixel
    gaussian_scale: float = 0.5            # σ (fixed), or the initial σ (learned); see the module docstring
    num_samples: int = 500                 # prior samples whose TV is measured
    num_shown: int = 10
    num_fixed_codes: int = 4               # z's at which the variance is checked
    num_repeats: int = 10000               # draws x ~ p(x|z) per fixed z
    variance_tolerance: float = 0.05       # largest relative error of the empirical variance
    seed: int = 0


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Per image (N, C, H, W) → (N,): mean absolute difference of horizontally and vertically adjacent pixels."""
    horizontal = (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1)
    vertical = (images[..., 1:, :] - images[..., :-1, :]).abs().flatten(1)
    return torch.cat([horizontal, vertical], 1).mean(1)


def variance_check(likelihood, num_repeats: int, seed: int) -> dict:
    """Empirical per-pixel variance of ``num_repeats`` draws of p(x|z) against the likelihood's own variance."""
    torch.manual_seed(seed)
    draws = likelihood.sample((num_repeats,)).double()                        # (R, B, C, H, W)
    empirical = draws.var(0)                                                  # unbiased, (B, C, H, W)
    mean = likelihood.mean.double()
    if isinstance(likelihood.base_dist, torch.distributions.Bernoulli):
        variance = mean * (1 - mean)                                          # p(1 − p)
        fourth_moment = variance * (1 - 3 * variance)
    else:
        variance = likelihood.stddev.double() ** 2                            # σ²
        fourth_moment = 3 * variance ** 2
    r = num_repeats
    sampling_sd = ((fourth_moment - variance ** 2 * (r - 3) / (r - 1)) / r).clamp(min=0).sqrt()
    return {
        "draws_binary": bool(((draws == 0) | (draws == 1)).all()),
        "mean": mean, "variance": variance, "empirical_variance": empirical,
        "relative_error": float((empirical - variance).abs().sum() / variance.sum()),
        "expected_relative_error": float(math.sqrt(2 / math.pi) * sampling_sd.sum() / variance.sum()),
    }


def _pixels(image: torch.Tensor) -> list[float]:
    return [round(float(value), 7) for value in image.flatten()]


@experiment("sampling", "A VAE sample x ~ p(x|z) is the smooth mean E[x|z] plus independent pixel noise: samples "
            "have a higher total variation than means, Bernoulli samples are binary, and the per-pixel variance of "
            "repeated draws at a fixed z is the likelihood's variance, p(1 − p) or σ².", Settings)
def run(report: Report, settings: Settings) -> None:
    models = {"bernoulli": ("mnist", "dynamic", "bernoulli", 1.0),
              "gaussian": ("fashion-mnist", "none", settings.gaussian_likelihood, settings.gaussian_scale)}
    shown = {}
    for name, (data_name, binarize, likelihood_name, scale) in models.items():
        train = dataset(data_name, "train", settings.train_size, settings.data_root, settings.seed)
        model = train_model(ModelConfig(kind="vae", latent_dim=settings.latent_dim, hidden=settings.hidden,
                                        likelihood=likelihood_name, likelihood_scale=scale),
                            train, epochs=settings.epochs, binarize=binarize, batch_size=settings.batch_size,
                            lr=settings.lr, seed=settings.seed)
        generator = torch.Generator().manual_seed(settings.seed)
        with torch.no_grad():
            z = torch.randn(settings.num_samples, settings.latent_dim, generator=generator)
            likelihood = model.decode(z)
            torch.manual_seed(settings.seed)
            means, samples = likelihood.mean, likelihood.sample()                  # (N, 1, 28, 28) each
            fixed = model.decode(z[:settings.num_fixed_codes])
            variance = variance_check(fixed, settings.num_repeats, settings.seed)
        tv_means, tv_samples = total_variation(means), total_variation(samples)
        measured = {
            "data": data_name, "binarize": binarize, "likelihood": likelihood_name,
            "tv_data": float(total_variation(train.images[:settings.num_samples]).mean()),
            "tv_means": float(tv_means.mean()), "tv_samples": float(tv_samples.mean()),
            "tv_samples_clamped": float(total_variation(samples.clamp(0, 1)).mean()),
            "samples_binary": bool(((samples == 0) | (samples == 1)).all()) and variance["draws_binary"],
            "sample_range": [float(samples.min()), float(samples.max())],
            "variance_relative_error": variance["relative_error"],
            "variance_expected_relative_error": variance["expected_relative_error"],
            "example": {"mean": _pixels(means[0]), "sample": _pixels(samples[0]), "tv_mean": float(tv_means[0]),
                        "tv_sample": float(tv_samples[0]), "fixed_code_mean": _pixels(variance["mean"][0]),
                        "fixed_code_variance": _pixels(variance["variance"][0]),
                        "fixed_code_empirical_variance": _pixels(variance["empirical_variance"][0]),
                        "num_repeats": settings.num_repeats},
        }
        if name == "gaussian":
            measured["sigma_range"] = [float(likelihood.stddev.min()), float(likelihood.stddev.max())]
        report.record(**{name: measured})
        shown[name] = (means[:settings.num_shown], samples[:settings.num_shown], variance)
        _checks(report, settings, name, measured)
    report.table("Means and samples of p(x|z) for the same z ~ N(0, I)",
                 ["model", "data", "TV of training images", "TV of means", "TV of samples", "TV of clamped samples",
                  "variance relative error", "expected from R draws"],
                 [[name, m["data"], m["tv_data"], m["tv_means"], m["tv_samples"], m["tv_samples_clamped"],
                   m["variance_relative_error"], m["variance_expected_relative_error"]]
                  for name, m in report.results.items()])
    _figures(report, settings, shown)


def _checks(report: Report, settings: Settings, name: str, measured: dict) -> None:
    report.check(f"{name}: TV(samples) > TV(means)", measured["tv_samples"] > measured["tv_means"],
                 f"{measured['tv_samples']:.4f} vs {measured['tv_means']:.4f}")
    if name == "bernoulli":
        report.check("bernoulli: every sampled pixel is exactly 0 or 1", measured["samples_binary"],
                     f"range {measured['sample_range']}")
    what = "p(1 − p)" if name == "bernoulli" else "σ²"
    report.check(f"{name}: empirical variance of {settings.num_repeats} draws at fixed z matches {what} within "
                 f"{100 * settings.variance_tolerance:.0f}% (relative L1)",
                 measured["variance_relative_error"] < settings.variance_tolerance,
                 f"{100 * measured['variance_relative_error']:.2f}% (sampling alone: "
                 f"{100 * measured['variance_expected_relative_error']:.2f}%)")


def _figures(report: Report, settings: Settings, shown: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name, (means, samples, _) in shown.items():
        rows = [("mean of p(x|z)", means), ("x ~ p(x|z)", samples)]
        if name == "gaussian":
            low, high = float(samples.min()), float(samples.max())
            rows = [rows[0], (f"mean + σε, range\n[{low:.2f}, {high:.2f}]\nshown black..white",
                              (samples - low) / (high - low)), ("mean + σε\nclamped to [0, 1]", samples.clamp(0, 1))]
        title = "Bernoulli VAE on MNIST" if name == "bernoulli" else \
            f"Gaussian VAE on Fashion-MNIST ({settings.gaussian_likelihood}, σ = {settings.gaussian_scale:g})"
        figure = labelled_rows(rows, title=f"{title}: the same z ~ N(0, I) in every column")
        report.figure(f"samples_{name}", figure, f"{title}: mean of p(x|z) against samples x ~ p(x|z) for the same "
                      "z's; the mean is what papers usually show.")

    repeats = settings.num_repeats
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    bernoulli = shown["bernoulli"][2]
    expected, empirical = bernoulli["variance"].flatten().numpy(), bernoulli["empirical_variance"].flatten().numpy()
    left.scatter(expected, empirical, s=2, alpha=0.4)
    left.plot([0, 0.25], [0, 0.25], color="grey", ls="--", label="y = x")
    left.set(xlabel="p(1 − p)", ylabel=f"variance of {repeats} draws",
             title=f"Bernoulli: every pixel of {settings.num_fixed_codes} fixed z's")
    left.legend()
    gaussian = shown["gaussian"][2]
    ratio = (gaussian["empirical_variance"] / gaussian["variance"]).flatten().numpy()
    right.hist(ratio, bins=50, density=True, alpha=0.7, label="pixels")
    spread = math.sqrt(2 / (repeats - 1))                     # sd of v̂/σ² for Gaussian draws
    grid = np.linspace(ratio.min(), ratio.max(), 200)
    right.plot(grid, np.exp(-0.5 * ((grid - 1) / spread) ** 2) / (spread * math.sqrt(2 * math.pi)), color="black",
               label=f"N(1, 2/(R−1)), R = {repeats}")
    right.set(xlabel="empirical variance / σ²", ylabel="density",
              title=f"Gaussian: every pixel of {settings.num_fixed_codes} fixed z's")
    right.legend(fontsize=8)
    report.figure("variance_check", figure, "Per-pixel variance of repeated draws x ~ p(x|z) at a fixed z against "
                  "the likelihood's variance: on the diagonal for p(1 − p), spread around σ² as sampling predicts.")

