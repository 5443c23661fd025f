"""Disentanglement on dSprites: β-VAE (a β sweep), β-TCVAE and FactorVAE, scored by the standard metrics.

Every model is the disentanglement_lib architecture (conv 32-32-64-64, FC 256, 10 latents,
Bernoulli likelihood) trained from the same seed on the same dSprites images; only the objective
differs (``objectives.elbo`` with a β, with ``total-correlation`` (MSS) for β-TCVAE, or the
``factor-vae`` objective with its discriminator). Each model is scored by the BetaVAE score,
FactorVAE score, MIG, SAP and DCI (``vaekit.evaluate.disentanglement``) on fresh images
rendered from random factors, and by its reconstruction, KL, active units and the MSS estimate of
the total correlation of q(z) on test images. The metric pipeline is calibrated on the same data
first: the ground-truth factors themselves must score near 1, random codes near 0.
Figures: latent traversals, KL per dimension, metrics against β.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vaekit.config import ModelConfig, ObjectiveConfig, RegularizerConfig
from vaekit.data.dsprites import DSprites
from vaekit.distributions import kl_per_dimension
from vaekit.evaluate import active_units
from vaekit.evaluate.disentanglement import compute_all, model_representation
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.objectives import REGULARIZERS, LatentBatch
from vaekit.viz import image_grid, latent_traversal

METRICS = ("beta_vae", "factor_vae", "mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness")
# Published means on dSprites (../shared/PAPERS.md §2c; Kim & Mnih 2018 Table 1-2, Chen et al. 2018,
# Locatello et al. 2019): FactorVAE score, MIG
PUBLISHED = {"VAE": (0.63, 0.10), "β-VAE": (0.63, 0.21), "β-TCVAE": (0.62, 0.45), "FactorVAE": (0.82, 0.43)}


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None          # None: the whole dSprites training split (60,000 images)
    test_size: int = 2000                  # test images for reconstruction, KL, active units, TC
    betas: tuple[float, ...] = (1.0, 4.0, 8.0)   # β-VAE sweep; β = 1 is the plain VAE
    tcvae_beta: float = 6.0                # β-TCVAE: ELBO + (β − 1)·TC
    factor_gamma: float = 40.0             # FactorVAE: ELBO + γ·TC
    latent_dim: int = 10
    conv_channels: tuple[int, ...] = (32, 32, 64, 64)
    hidden: tuple[int, ...] = (256,)
    discriminator_hidden: tuple[int, ...] = (1000, 1000, 1000, 1000, 1000, 1000)
    epochs: int = 5
    batch_size: int = 64
    lr: float = 5e-4                       # disentanglement_lib: 1e-4 for 300k steps; a short budget needs more
    points: int = 10_000                   # MIG and SAP training points (disentanglement_lib: 10,000)
    test_points: int = 5_000               # SAP and DCI test points (disentanglement_lib: 5,000)
    dci_points: int = 10_000               # DCI training points (disentanglement_lib: 10,000)
    votes_train: int = 10_000              # BetaVAE/FactorVAE score: training votes of 64 images each
    votes_eval: int = 5_000                #   (disentanglement_lib: 10,000 / 5,000)
    dci_method: str = "gradient_boosting"
    traversal_limit: float = 2.0
    seed: int = 0


def model_specs(settings: Settings) -> list[tuple[str, str, float, ModelConfig, ObjectiveConfig]]:
    """(label, family, strength, model config, objective) of every model trained."""
    base = ModelConfig(kind="vae", architecture="conv", conv_channels=settings.conv_channels, hidden=settings.hidden,
                       latent_dim=settings.latent_dim, likelihood="bernoulli")
    specs = [(f"β-VAE β={beta:g}" if beta != 1 else "VAE", "β-VAE", beta, base, ObjectiveConfig(beta=beta))
             for beta in settings.betas]
    specs.append((f"β-TCVAE β={settings.tcvae_beta:g}", "β-TCVAE", settings.tcvae_beta, base, ObjectiveConfig(
        regularizers=(RegularizerConfig("total-correlation", weight=settings.tcvae_beta - 1, estimator="mss"),))))
    factor = ModelConfig(**{**base.__dict__, "kind": "factor-vae",
                            "discriminator_hidden": settings.discriminator_hidden})
    specs.append((f"FactorVAE γ={settings.factor_gamma:g}", "FactorVAE", settings.factor_gamma, factor, ObjectiveConfig(
        name="factor-vae", regularizers=(RegularizerConfig("total-correlation", weight=settings.factor_gamma,
                                                           estimator="discriminator"),))))
    return specs


@torch.no_grad()
def latent_statistics(model, images: torch.Tensor, dataset_size: int) -> dict:
    """Reconstruction NLL, KL (total and per dimension), active units and TC (MSS) on ``images``."""
    model.eval()
    posterior = model.encode(images)
    z = posterior.sample()
    kl = kl_per_dimension(posterior, model.prior())
    batch = LatentBatch(posterior, z, kl.sum(1), dataset_size, model)
    total_correlation = REGULARIZERS["total-correlation"](batch, RegularizerConfig(estimator="mss"))
    return {"reconstruction": float(-model.decode(z).log_prob(images).mean()), "kl": float(kl.sum(1).mean()),
            "kl_per_dimension": kl.mean(0).tolist(), "active_units": active_units(posterior.mean),
            "total_correlation": float(total_correlation)}


class FactorOracle:
    """Ground-truth data whose observations *are* the factor classes (plus Gaussian noise), so any
    representation of them that returns its input is perfectly disentangled; or random codes."""

    def __init__(self, data: DSprites, random_codes: bool = False, noise: float = 0.01):
        self.data, self.random_codes, self.noise = data, random_codes, noise
        self.factor_sizes = data.factor_sizes

    def sample_factors(self, num, rng):
        return self.data.sample_factors(num, rng)

    def sample_observations_from_factors(self, factors, rng):
        if self.random_codes:
            return torch.from_numpy(rng.normal(size=(len(factors), len(self.factor_sizes))))
        return torch.from_numpy(factors + self.noise * rng.normal(size=factors.shape))


def scores(ground_truth, representation, settings: Settings) -> dict:
    """Every metric of ``vaekit.evaluate.disentanglement`` at the settings' sizes."""
    return compute_all(ground_truth, representation, random_state=settings.seed, num_train=settings.points,
                       num_eval=settings.test_points, num_variance_estimate=settings.points,
                       dci_method=settings.dci_method, votes_train=settings.votes_train,
                       votes_eval=settings.votes_eval, dci_train=settings.dci_points)


def published_for(model: dict) -> tuple[float, float] | None:
    """The published (FactorVAE score, MIG) of a measured model's family; β-VAE at β = 1 is the VAE."""
    return PUBLISHED.get("VAE" if model["family"] == "β-VAE" and model["strength"] == 1 else model["family"])


@experiment("disentanglement", "On dSprites, penalising the total correlation of q(z) (β-TCVAE, FactorVAE) or "
            "raising β lowers the KL and the total correlation, and the disentanglement metrics (MIG, FactorVAE "
            "score, ...) measure how far each latent dimension captures one factor of variation.", Settings)
def run(report: Report, settings: Settings) -> None:
    train = dataset("dsprites", "train", settings.train_size, settings.data_root, settings.seed)
    test = dataset("dsprites", "test", settings.test_size, settings.data_root, settings.seed)
    ground_truth = DSprites.procedural()
    calibration = {name: scores(FactorOracle(ground_truth, random_codes=name == "random codes"),
                                lambda observations: observations, settings)
                   for name in ("ground-truth factors", "random codes")}
    report.record(calibration=calibration, train_images=len(train), test_images=len(test),
                  factor_names=list(ground_truth.factor_names))

    measured, traversals = {}, {}
    for label, family, strength, model_config, objective in model_specs(settings):
        model = train_model(model_config, train, epochs=settings.epochs, objective=objective,
                            batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed)
        statistics = latent_statistics(model, test.images, len(train))
        measured[label] = {"family": family, "strength": strength, **statistics,
                           **scores(ground_truth, model_representation(model), settings)}
        order = list(np.argsort(statistics["kl_per_dimension"])[::-1])
        z0 = model.code(test.images[:1])[0]
        values = torch.linspace(-settings.traversal_limit, settings.traversal_limit, 9)
        traversals[label] = (latent_traversal(model, z0, order, values), order)
    report.record(models=measured)
    _checks(report, settings, calibration, measured)
    _tables(report, calibration, measured)
    _figures(report, settings, measured, traversals)


def _checks(report: Report, settings: Settings, calibration: dict, measured: dict) -> None:
    truth, noise = calibration["ground-truth factors"], calibration["random codes"]
    # 20 equal-width bins merge orientation's 40 and position's 32 classes, which caps the MIG of the
    # exact factors at mean_k min(1, ln 20 / ln size_k) ≈ 0.91 on dSprites; 0.8 leaves room for sampling
    report.check("calibration: the ground-truth factors score MIG > 0.8 (the 20-bin histogram caps it at 0.91) "
                 "and FactorVAE score > 0.95 on this data", truth["mig"] > 0.8 and truth["factor_vae"] > 0.95,
                 f"MIG {truth['mig']:.3f}, FactorVAE score {truth['factor_vae']:.3f}")
    report.check("calibration: random codes score MIG < 0.05 and FactorVAE score < 0.4",
                 noise["mig"] < 0.05 and noise["factor_vae"] < 0.4,
                 f"MIG {noise['mig']:.3f}, FactorVAE score {noise['factor_vae']:.3f}")
    sweep = [m for m in measured.values() if m["family"] == "β-VAE"]
    kls = [m["kl"] for m in sweep]
    report.check("β-VAE: the KL decreases as β grows", all(a > b for a, b in zip(kls, kls[1:])),
                 ", ".join(f"β={m['strength']:g}: {m['kl']:.1f}" for m in sweep))
    vae = next(m for m in sweep if m["strength"] == 1.0) if 1.0 in settings.betas else None
    if vae is None:
        return
    for family in ("β-TCVAE", "FactorVAE"):
        model = next(m for m in measured.values() if m["family"] == family)
        report.check(f"{family} has a lower total correlation of q(z) (MSS estimate, test images) than the VAE",
                     model["total_correlation"] < vae["total_correlation"],
                     f"{family} {model['total_correlation']:.2f}, VAE {vae['total_correlation']:.2f} nats")
        report.check(f"{family} has a higher MIG than the VAE", model["mig"] > vae["mig"],
                     f"{family} {model['mig']:.3f}, VAE {vae['mig']:.3f}")


def _tables(report: Report, calibration: dict, measured: dict) -> None:
    header = ["model", "−E log p(x∣z)", "KL", "active units", "TC (MSS)", "BetaVAE", "FactorVAE", "MIG", "SAP",
              "DCI D", "DCI C", "DCI I", "published FactorVAE / MIG"]
    rows = []
    for label, m in measured.items():
        published = published_for(m)
        rows.append([label, m["reconstruction"], m["kl"], m["active_units"], m["total_correlation"],
                     *[m[key] for key in METRICS], "—" if published is None else f"{published[0]} / {published[1]}"])
    for name, scores in calibration.items():
        rows.append([f"({name})", "", "", "", "", *[scores[key] for key in METRICS], ""])
    report.table("Models on dSprites (nats per image on test images; metrics on freshly rendered images); "
                 "published values: Kim & Mnih 2018, Chen et al. 2018, Locatello et al. 2019 (300k steps on a GPU)",
                 header, rows)


def _figures(report: Report, settings: Settings, measured: dict, traversals: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for index, (label, (images, order)) in enumerate(traversals.items()):
        rows, columns = images.shape[:2]
        figure, axis = plt.subplots(figsize=(0.75 * columns + 1.2, 0.75 * rows + 0.5))
        axis.imshow(image_grid(images.flatten(0, 1), columns).squeeze(-1), cmap="gray", vmin=0, vmax=1)
        kl = measured[label]["kl_per_dimension"]
        height = images.shape[-2] + 1
        axis.set_yticks([(row + 0.5) * height for row in range(rows)],
                        [f"z{d} (KL {kl[d]:.2f})" for d in order], fontsize=7)
        axis.set_xticks([(column + 0.5) * (images.shape[-1] + 1) for column in range(columns)],
                        [f"{v:.1f}" for v in torch.linspace(-settings.traversal_limit, settings.traversal_limit,
                                                           columns).tolist()], fontsize=7)
        axis.set_title(f"{label}: latent traversals from one test image (rows by KL)", fontsize=9)
        slug = label.split(" ")[0].lower().replace("β", "beta")
        report.figure(f"traversals_{index}_{slug}", figure, f"{label}: each row sweeps one latent dimension over "
                      f"[−{settings.traversal_limit:g}, {settings.traversal_limit:g}] while the others stay at the "
                      "test image's code; a disentangled dimension changes one factor (position, scale, shape, "
                      "rotation).")

    labels = list(measured)
    figure, axes = plt.subplots(1, len(labels), figsize=(2.6 * len(labels), 2.4), sharey=True)
    for axis, label in zip(np.atleast_1d(axes), labels):
        kl = measured[label]["kl_per_dimension"]
        axis.bar(range(len(kl)), kl)
        axis.set(title=label, xlabel="latent dimension", xticks=range(len(kl)))
        axis.tick_params(labelsize=6)
    np.atleast_1d(axes)[0].set_ylabel("KL(q(z_d|x) ‖ p(z_d)) (nats)")
    figure.tight_layout()
    report.figure("kl_per_dimension", figure, "KL per latent dimension on test images: larger β switches more "
                  "dimensions off; the dSprites factors need about five.")

    sweep = [(m["strength"], m) for m in measured.values() if m["family"] == "β-VAE"]
    figure, axis = plt.subplots(figsize=(6, 3.6))
    for key, marker in (("mig", "o"), ("factor_vae", "s"), ("beta_vae", "^"), ("sap", "v"),
                        ("dci_disentanglement", "d")):
        line, = axis.plot([b for b, _ in sweep], [m[key] for _, m in sweep], marker + "-", label=key)
        for family, fill in (("β-TCVAE", "none"), ("FactorVAE", "full")):
            other = next(m for m in measured.values() if m["family"] == family)
            axis.plot([max(b for b, _ in sweep) * 1.6], [other[key]], marker, color=line.get_color(),
                      fillstyle=fill)
    axis.set(xscale="log", xlabel="β of the β-VAE (right: β-TCVAE hollow, FactorVAE filled)",
             ylabel="score", ylim=(0, 1.05), title="Disentanglement metrics against β")
    axis.legend(fontsize=7, ncol=2)
    axis.grid(alpha=0.3)
    report.figure("metrics_vs_beta", figure, "Every metric for the β-VAE sweep, with β-TCVAE (hollow) and "
                  "FactorVAE (filled) at the right.")
