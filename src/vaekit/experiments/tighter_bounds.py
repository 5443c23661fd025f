"""Tighter bounds and honest likelihoods: what k, richer posteriors and AIS buy.

Burda et al. (2016, Thm. 1): L_1 = ELBO ≤ L_5 ≤ L_50 ≤ L_5000 ≤ log p(x) in expectation, with
L_k(x) = E log (1/k) Σ_i p(x, z_i)/q(z_i|x). The gap log p(x) − ELBO = KL(q(z|x) ‖ p(z|x)) is
what a richer posterior family (planar flows, IAF) can close; a tighter training bound (IWAE)
or a richer prior (VampPrior) moves log p(x) itself. Measured here:

1. For each model of ``MODEL_ROWS`` (Burda et al.'s 784-200-200-50 networks, dynamic MNIST):
   L_1, L_5, L_50, L_5000 on the same test images, and the gap L_5000 − ELBO.
2. The estimators on a 2-d-latent MNIST VAE, whose log p(x) is exact by quadrature
   (``evaluate.quadrature``): absolute error against cost (decoder evaluations) for naive Monte
   Carlo from the prior, importance sampling with q(z|x), and AIS with HMC (Wu et al. 2017).
   The lecture's point: integrating over z by sampling the prior is hopelessly inefficient.
3. On the 50-d model, IS (k = 5000) and AIS side by side.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from vaekit.config import load_config
from vaekit.data import binarize_static
from vaekit.evaluate.ais import ais_log_likelihood_estimate
from vaekit.evaluate.likelihood import log_likelihood_estimate, prior_log_likelihood_estimate
from vaekit.evaluate.quadrature import log_likelihood_by_quadrature
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.models import load
from vaekit.presets import PRESET_DIR

# name: (label, preset, overrides) — shared with bench/likelihood.py
MODEL_ROWS = {
    "vae": ("VAE", "mnist_iwae_arch.yaml", []),
    "iwae5": ("IWAE k=5 (DReG)", "mnist_iwae.yaml", ["objective.num_samples=5"]),
    "iwae50": ("IWAE k=50 (DReG)", "mnist_iwae.yaml", []),
    "vae2": ("VAE, 2 stochastic layers", "mnist_two_layer_iwae.yaml",
             ["objective.name=elbo", "objective.num_samples=1", "objective.gradient=standard"]),
    "iwae2": ("IWAE k=50, 2 stochastic layers (DReG)", "mnist_two_layer_iwae.yaml", ["objective.gradient=dreg"]),
    "planar": ("planar flow posterior, K=10", "mnist_planar_vae.yaml", []),
    "iaf": ("IAF posterior, 2 steps", "mnist_iaf_vae.yaml", []),
    "vamp": ("VampPrior, K=500", "mnist_vampprior_vae.yaml", []),
}
RICHER_POSTERIORS = ("planar", "iaf")


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None          # None: all 60,000 training images
    test_size: int = 1000                  # test images every bound is measured on
    models: tuple[str, ...] = ("vae", "iwae50", "vae2", "planar", "iaf", "vamp")
    epochs: int = 10                       # per model, unless trained_runs has it
    trained_runs: str | None = None        # folder of bench/likelihood.py runs (dynamic-<row>/) to evaluate instead
    bound_samples: tuple[int, ...] = (1, 5, 50, 5000)
    # the 2-d model: exact log p(x) by quadrature
    small_epochs: int = 20
    small_test_size: int = 100
    grid_points: int = 301
    grid_limit: float = 6.0
    prior_samples: tuple[int, ...] = (10, 100, 1000, 10000, 100000)
    posterior_samples: tuple[int, ...] = (1, 10, 100, 1000)
    ais_steps: tuple[int, ...] = (10, 50, 200)
    ais_chains: int = 8
    ais_leapfrog_steps: int = 10
    # the 50-d model: IS and AIS side by side
    large_ais_steps: int = 500
    large_ais_test_size: int = 50
    seed: int = 0


def row_config(row: str, overrides: list[str] = ()):
    """The run config of ``MODEL_ROWS[row]`` (preset + the row's overrides + ``overrides``)."""
    _, preset, row_overrides = MODEL_ROWS[row]
    return load_config(PRESET_DIR / preset, [*row_overrides, *overrides])


def trained_model(row: str, settings: Settings, train) -> torch.nn.Module:
    """The row's model from ``settings.trained_runs``, or trained here for ``settings.epochs``."""
    if settings.trained_runs is not None:
        return load(Path(settings.trained_runs) / f"dynamic-{row}")
    config = row_config(row)
    return train_model(config.model, train, epochs=settings.epochs, objective=config.objective,
                       binarize="dynamic", batch_size=config.train.batch_size, lr=config.train.lr,
                       lr_decay=0.1 ** (1 / settings.epochs), seed=settings.seed)


def test_binary(settings: Settings, size: int | None) -> torch.Tensor:
    """The first ``size`` test images, binarized once with a fixed seed (as ``vaekit evaluate`` does)."""
    test = dataset("mnist", "test", size, settings.data_root, settings.seed)
    return binarize_static(test.images.float(), 2024)


@experiment("tighter-bounds", "L_1 ≤ L_5 ≤ L_50 ≤ L_5000 for every model; richer posteriors (planar, IAF) narrow "
            "the gap L_5000 − ELBO against the Gaussian VAE; sampling z from the prior is a far worse way to "
            "integrate over z than importance sampling with q or AIS, measured against exact quadrature.", Settings)
def run(report: Report, settings: Settings) -> None:
    unknown = [row for row in settings.models if row not in MODEL_ROWS]
    if unknown:
        raise ValueError(f"tighter-bounds: unknown model(s) {', '.join(unknown)}; known: {', '.join(MODEL_ROWS)}")
    train = dataset("mnist", "train", settings.train_size, settings.data_root, settings.seed)
    images = test_binary(settings, settings.test_size)
    bounds = _bounds_per_model(report, settings, train, images)
    _estimators_on_a_2d_model(report, settings, train)
    _is_and_ais_on_the_50d_model(report, settings, bounds)


def _bounds_per_model(report: Report, settings: Settings, train, images: torch.Tensor) -> dict:
    measured, rows = {}, []
    for row in settings.models:
        torch.manual_seed(settings.seed)
        model = trained_model(row, settings, train)
        bounds = {}
        for k in settings.bound_samples:
            values = log_likelihood_estimate(model, images, num_samples=k, chunk=mixture_safe_chunk(model, k))
            bounds[k] = (float(values.mean()), float(values.std() / math.sqrt(len(values))))
        largest = max(settings.bound_samples)
        gap = bounds[largest][0] - bounds[1][0]
        measured[row] = {"label": MODEL_ROWS[row][0], "bounds": {str(k): v for k, v in bounds.items()}, "gap": gap,
                         "model": model}
        rows.append([MODEL_ROWS[row][0], *[f"{-bounds[k][0]:.2f} ± {bounds[k][1]:.2f}" for k in settings.bound_samples],
                     f"{gap:.2f}"])
        increasing = all(bounds[a][0] <= bounds[b][0] for a, b in zip(settings.bound_samples, settings.bound_samples[1:]))
        report.check(f"{MODEL_ROWS[row][0]}: " + " ≤ ".join(f"L_{k}" for k in settings.bound_samples), increasing,
                     ", ".join(f"L_{k} = {bounds[k][0]:.2f}" for k in settings.bound_samples))
    report.record(bounds={row: {key: value for key, value in found.items() if key != "model"}
                          for row, found in measured.items()})
    report.table(f"Test bounds in nats (−L_k, mean ± standard error over {len(images)} test images)",
                 ["model", *[f"−L_{k}" for k in settings.bound_samples], "gap L_max − ELBO"], rows)
    if "vae" in measured:
        for row in RICHER_POSTERIORS:
            if row in measured:
                report.check(f"{MODEL_ROWS[row][0]} narrows the gap L_{max(settings.bound_samples)} − ELBO of the "
                             "Gaussian VAE", measured[row]["gap"] < measured["vae"]["gap"],
                             f"{measured[row]['gap']:.2f} vs {measured['vae']['gap']:.2f} nats")
    return measured


def mixture_safe_chunk(model, k: int) -> int:
    """Samples decoded at once: fewer for mixture priors, whose log-density is (chunk, B, K, D)."""
    components = model.config.prior_components if model.config.prior != "standard" else 1
    return max(1, min(500, k, int(2e7 / (100 * components * model.config.latent_dim))))


def _estimators_on_a_2d_model(report: Report, settings: Settings, train) -> None:
    """Absolute error of each estimator against quadrature, as a function of decoder evaluations."""
    config = row_config("vae")
    model_config = dataclasses.replace(config.model, latent_dim=2)
    model = train_model(model_config, train, epochs=settings.small_epochs, binarize="dynamic",
                        batch_size=100, lr=1e-3, lr_decay=0.1 ** (1 / settings.small_epochs), seed=settings.seed)
    images = test_binary(settings, settings.small_test_size)
    exact = log_likelihood_by_quadrature(model, images, settings.grid_limit, settings.grid_points)
    curves = {"prior sampling": [], "IS with q(z|x)": [], "AIS (HMC, from the prior)": []}

    def measure(name: str, cost: float, estimate_of) -> None:
        torch.manual_seed(settings.seed)
        started = time.perf_counter()
        estimate = estimate_of()
        error = float((exact - estimate).abs().mean())
        curves[name].append({"decoder_evaluations": cost, "mean_absolute_error": error,
                             "bias": float((exact - estimate).mean()), "seconds": time.perf_counter() - started})

    for k in settings.prior_samples:
        measure("prior sampling", k, lambda: prior_log_likelihood_estimate(model, images, k, chunk=min(k, 5000)))
    for k in settings.posterior_samples:
        measure("IS with q(z|x)", k, lambda: log_likelihood_estimate(model, images, k, chunk=min(k, 5000)))
    for steps in settings.ais_steps:
        cost = settings.ais_chains * (1 + (steps - 1) * settings.ais_leapfrog_steps)
        measure("AIS (HMC, from the prior)", cost, lambda: ais_log_likelihood_estimate(
            model, images, settings.ais_chains, steps, settings.ais_leapfrog_steps))
    report.record(two_d={"exact_mean_log_px": float(exact.mean()), "curves": curves,
                         "test_images": len(images), "grid_points": settings.grid_points})
    rows = [[name, point["decoder_evaluations"], point["mean_absolute_error"], point["bias"], point["seconds"]]
            for name, points in curves.items() for point in points]
    report.table(f"2-d latent VAE: |log p̂(x) − log p(x)| against decoder evaluations per image "
                 f"(exact log p(x) by quadrature, mean {float(exact.mean()):.2f} nats)",
                 ["estimator", "decoder evaluations", "mean |error| (nats)", "mean bias (nats)", "seconds"], rows)
    prior_at = {p["decoder_evaluations"]: p["mean_absolute_error"] for p in curves["prior sampling"]}
    is_at = {p["decoder_evaluations"]: p["mean_absolute_error"] for p in curves["IS with q(z|x)"]}
    common = sorted(set(prior_at) & set(is_at))
    report.check("at equal k, IS with q(z|x) errs less than sampling z from the prior",
                 bool(common) and all(is_at[k] < prior_at[k] for k in common),
                 "; ".join(f"k={k:g}: IS {is_at[k]:.3f}, prior {prior_at[k]:.3f} nats" for k in common)
                 or "no k common to prior_samples and posterior_samples")
    annealed = curves["AIS (HMC, from the prior)"]
    report.check("AIS errs less with more annealing steps",
                 annealed[-1]["mean_absolute_error"] < annealed[0]["mean_absolute_error"],
                 f"{annealed[0]['mean_absolute_error']:.3f} nats at {settings.ais_steps[0]} steps, "
                 f"{annealed[-1]['mean_absolute_error']:.3f} at {settings.ais_steps[-1]}")
    report.check("AIS with the most steps is within 0.5 nats of the exact log p(x)",
                 annealed[-1]["mean_absolute_error"] < 0.5, f"{annealed[-1]['mean_absolute_error']:.3f} nats")
    _error_figure(report, curves)


def _error_figure(report: Report, curves: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 4))
    for name, points in curves.items():
        axis.loglog([p["decoder_evaluations"] for p in points], [max(p["mean_absolute_error"], 1e-4) for p in points],
                    "o-", label=name)
    axis.set_xlabel("decoder evaluations per image")
    axis.set_ylabel("mean |log p̂(x) − log p(x)| (nats)")
    axis.legend()
    axis.grid(True, which="both", alpha=0.3)
    report.figure("estimator_error", figure, "Error against compute on a 2-d latent MNIST VAE: naive Monte Carlo "
                  "from the prior, importance sampling with q(z|x), and AIS with HMC; exact log p(x) by quadrature.")


def _is_and_ais_on_the_50d_model(report: Report, settings: Settings, measured: dict) -> None:
    """IS (k samples), prior sampling (k samples) and AIS from p(z) and from q(z|x) on the 50-d VAE."""
    if "vae" not in measured:
        return
    model = measured["vae"]["model"]
    images = test_binary(settings, settings.large_ais_test_size)
    k, chains, steps, leapfrog = (max(settings.bound_samples), settings.ais_chains, settings.large_ais_steps,
                                  settings.ais_leapfrog_steps)
    ais_cost = chains * (1 + (steps - 1) * leapfrog)
    estimators = {
        f"IS with q(z|x), k = {k}": (k, lambda: log_likelihood_estimate(model, images, k, chunk=min(k, 500))),
        f"IS with q(z|x), k = {chains}": (chains, lambda: log_likelihood_estimate(model, images, chains)),
        f"prior sampling, k = {k}": (k, lambda: prior_log_likelihood_estimate(model, images, k, chunk=min(k, 500))),
        f"AIS from p(z), {chains} chains × {steps} steps × {leapfrog} leapfrog": (ais_cost, lambda: (
            ais_log_likelihood_estimate(model, images, chains, steps, leapfrog, start="prior"))),
        f"AIS from q(z|x), {chains} chains × {steps} steps × {leapfrog} leapfrog": (ais_cost, lambda: (
            ais_log_likelihood_estimate(model, images, chains, steps, leapfrog, start="posterior"))),
    }
    found, rows = {}, []
    for name, (cost, estimate_of) in estimators.items():
        torch.manual_seed(settings.seed)
        started = time.perf_counter()
        values = estimate_of()
        seconds = time.perf_counter() - started
        found[name] = {"mean_log_px": float(values.mean()),
                       "standard_error": float(values.std() / math.sqrt(len(values))),
                       "decoder_evaluations": cost, "seconds": seconds, "values": values}
        rows.append([name, f"{found[name]['mean_log_px']:.2f} ± {found[name]['standard_error']:.2f}", cost, seconds])
    report.record(fifty_d={name: {key: value for key, value in entry.items() if key != "values"}
                           for name, entry in found.items()} | {"test_images": len(images)})
    report.table(f"50-d VAE: estimators of log p(x) on {len(images)} test images (nats; all are stochastic "
                 "lower bounds, so higher is tighter)",
                 ["estimator", "log p̂(x)", "decoder evaluations per image", "seconds"], rows)
    names = list(estimators)
    best_is, few_is, prior, ais_prior, ais_posterior = (found[name] for name in names)
    shortfall = best_is["mean_log_px"] - prior["mean_log_px"]
    report.check(f"in 50 dimensions, sampling z from the prior falls more than 5 nats short of IS at equal k = {k}",
                 shortfall > 5.0, f"IS − prior = {shortfall:.2f} nats")
    improvement = ais_posterior["values"] - few_is["values"]
    report.check(f"AIS from q(z|x) with {chains} chains is tighter than IS with k = {chains} (the annealing "
                 "improves each weight)", float(improvement.mean()) > 0,
                 f"AIS − IS = {float(improvement.mean()):.2f} ± {float(improvement.std() / math.sqrt(len(images))):.2f} "
                 f"nats; AIS from p(z): {ais_prior['mean_log_px']:.2f}, IS k = {k}: {best_is['mean_log_px']:.2f}")
