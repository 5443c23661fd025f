"""β-VAE sweep: the weight β of the KL term trades reconstruction for a simpler posterior.

Higgins et al. (2017) train with −E_q[log p(x|z)] + β·KL(q(z|x) ‖ p(z)). β > 1 presses q(z|x)
towards the prior: the KL (the rate) falls, the reconstruction term (the distortion) rises, and
fewer latent dimensions stay active (Burda et al. 2016: Var_x μ_d(x) ≥ 0.01); β < 1 buys a
better reconstruction with more KL (Alemi et al. 2018, "Fixing a broken ELBO", rate–distortion).
Only β = 1 maximises the ELBO, a bound on log p(x); the k-sample importance estimate
log p(x) ≥ L_k ≥ ELBO (Burda et al. 2016) measures which β gives the best density model.
Every β trains the same MLP VAE from the same seed for the same epochs on dynamically binarized
MNIST and is evaluated on one static binarization of the test images.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vaekit.config import EvalConfig, ModelConfig, ObjectiveConfig
from vaekit.data import binarize_static
from vaekit.evaluate import evaluate_model
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.viz import image_grid


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None        # None: all 60,000 training images
    test_size: int = 2000                # test images for every metric
    betas: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    latent_dim: int = 20
    hidden: tuple[int, ...] = (400,)
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    importance_samples: int = 1000       # k of the IS estimate of log p(x)
    shown: int = 8                       # reconstructions and prior samples per β in the figure
    seed: int = 0


def _increasing(values: list[float], strict: bool = True) -> bool:
    steps = np.diff(values)
    return bool(np.all(steps > 0) if strict else np.all(steps >= 0))


def _series(values: list[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)


@experiment("beta-sweep", "Raising β in the β-VAE objective trades reconstruction for KL: the reconstruction "
            "term rises and the KL and the number of active units fall as β grows, and β = 1 (the ELBO) "
            "gives the best importance-sampled log-likelihood.", Settings)
def run(report: Report, settings: Settings) -> None:
    if 1.0 not in settings.betas or list(settings.betas) != sorted(settings.betas):
        raise ValueError(f"betas must be increasing and contain 1.0, got {settings.betas}")
    train = dataset("mnist", "train", settings.train_size, settings.data_root, settings.seed)
    test = dataset("mnist", "test", settings.test_size, settings.data_root, settings.seed)
    x_test = binarize_static(test.images, settings.seed)
    evaluation = EvalConfig(importance_samples=settings.importance_samples)
    measured, shown = [], {}
    for beta in settings.betas:
        model = train_model(
            ModelConfig(latent_dim=settings.latent_dim, hidden=settings.hidden, likelihood="bernoulli"), train,
            epochs=settings.epochs, objective=ObjectiveConfig(beta=beta), binarize="dynamic",
            batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed)
        torch.manual_seed(settings.seed)
        metrics = evaluate_model(model, x_test, evaluation)
        measured.append(metrics)
        report.record(**{f"beta_{beta:g}": {key: metrics[key] for key in (
            "reconstruction_nll", "kl", "elbo", "nll", "nll_standard_error", "active_units", "importance_samples",
            "num_examples", "kl_per_dimension", "posterior_mean_variance")}})
        with torch.no_grad():
            generator = torch.Generator().manual_seed(settings.seed)
            shown[beta] = (model.reconstruct(x_test[:settings.shown]).mean,
                           model.sample(settings.shown, generator).mean)
    betas = list(settings.betas)
    reconstruction = [m["reconstruction_nll"] for m in measured]
    kl = [m["kl"] for m in measured]
    units = [m["active_units"] for m in measured]
    nll = [m["nll"] for m in measured]
    elbo = [m["elbo"] for m in measured]
    best = betas[int(np.argmin(nll))]
    report.record(betas=betas, best_nll_beta=best)
    report.table(f"β sweep on {len(x_test)} binarized MNIST test images (nats per image, "
                 f"IS with k={settings.importance_samples})",
                 ["β", "−E_q log p(x|z)", "KL", "active units", "−ELBO", "IS-NLL", "± s.e."],
                 [[beta, r, k, u, -e, n, m["nll_standard_error"]]
                  for beta, r, k, u, e, n, m in zip(betas, reconstruction, kl, units, elbo, nll, measured)])
    report.check("the reconstruction term −E_q log p(x|z) increases with β", _increasing(reconstruction),
                 _series(reconstruction))
    report.check("KL(q(z|x) ‖ p(z)) decreases with β", _increasing([-value for value in kl]), _series(kl))
    report.check("the number of active units does not increase with β",
                 _increasing([-value for value in units], strict=False), ", ".join(map(str, units)))
    report.check("ELBO ≤ IS estimate of log p(x) (the k-sample bound is tighter) for every β",
                 all(e <= -n for e, n in zip(elbo, nll)),
                 ", ".join(f"β={b:g}: {e:.1f} ≤ {-n:.1f}" for b, e, n in zip(betas, elbo, nll)))
    report.check("the lowest IS-NLL is at β = 1", best == 1.0, f"lowest at β={best:g}: {_series(nll)} "
                 f"(± {max(m['nll_standard_error'] for m in measured):.1f} s.e.)")
    _figures(report, settings, reconstruction, kl, units, nll, elbo, x_test[:settings.shown], shown)


def _figures(report, settings, reconstruction, kl, units, nll, elbo, originals, shown) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    betas = list(settings.betas)
    figure, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    panels = ((reconstruction, "−E_q log p(x|z) (nats)", "reconstruction term"),
              (kl, "KL(q ‖ p) (nats)", "KL term"),
              (units, "active units", f"active units (of {settings.latent_dim})"),
              (nll, "−log p(x) (nats)", f"IS-NLL (k={settings.importance_samples})"))
    for axis, (values, label, title) in zip(axes, panels):
        axis.plot(betas, values, "o-")
        axis.set(xscale="log", xlabel="β", ylabel=label, title=title)
        axis.set_xticks(betas, [f"{beta:g}" for beta in betas])
        axis.minorticks_off()
        axis.axvline(1.0, color="grey", ls=":")
        axis.grid(alpha=0.3)
    axes[2].set_ylim(0, settings.latent_dim + 1)
    axes[3].plot(betas, [-value for value in elbo], "x--", color="grey", label="−ELBO (upper bound)")
    axes[3].legend(fontsize=8)
    figure.tight_layout()
    report.figure("tradeoff", figure, "Against β (log axis): the reconstruction term rises, the KL and the number "
                  "of active units fall; the importance-sampled NLL (and the −ELBO above it) is lowest near β = 1.")
    count = len(originals)
    figure, axes = plt.subplots(1, 2, figsize=(2 * (0.45 * count + 0.6), 0.5 * (len(betas) + 1) + 0.6))
    recon_rows = torch.cat([originals] + [shown[beta][0] for beta in betas])
    sample_rows = torch.cat([torch.ones_like(originals)] + [shown[beta][1] for beta in betas])
    labels = [f"β = {beta:g}" for beta in betas]
    for axis, images, top, title in ((axes[0], recon_rows, "data", "reconstructions (mean of p(x|z=μ(x)))"),
                                     (axes[1], sample_rows, "", "prior samples (mean of p(x|z), z ~ N(0, I))")):
        grid = image_grid(images, count)
        axis.imshow(grid.squeeze(-1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axis.set_yticks([(row + 0.5) * grid.shape[0] / (len(labels) + 1) for row in range(len(labels) + 1)],
                        [top] + labels)
        axis.set_xticks([])
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    report.figure("reconstructions_and_samples", figure, "One row per β: reconstructions of the same test "
                  "digits (left) and decoded prior samples from the same z (right); large β blurs both.")
