"""2-D codes of an autoencoder and a VAE: only the VAE's latent space can be sampled from.

The AE minimises −log p(x | g(f(x))) alone: nothing ties its codes to any region, so points drawn
from N(0, I) may fall between or outside its clusters and decode to non-digits. The VAE maximises
the ELBO E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I)) (Kingma & Welling 2014, eq. 3): the KL pulls the
codes into the prior's mass and the noise of q makes nearby codes decode alike.

Both models share the MLP widths and the Bernoulli likelihood (dynamic binarization). Measured:
  realism    a digit classifier (trained here on MNIST train) judges decodes of z ~ N(0, I), of z from
             a Gaussian fitted to each model's own training codes (the fairest way to sample an AE,
             which has no prior), and of a regular grid over [−a, a]²: mean max-softmax confidence,
             class entropy, prediction entropy and the classifier-based inception score
             exp(E KL(p(y|x) ‖ p̄(y))), which rewards clear and diverse digits together
             (vaekit.evaluate.digit_classifier);
  smoothness mean_pixels |E[x|z] − E[x|z+δ]| with δ = ε·u, u a random unit direction, at prior samples,
             and with δ = ε·(s ⊙ u), s the per-dimension std of the model's own test codes, at those codes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from safetensors.torch import save_file

from vaekit.config import ModelConfig, ObjectiveConfig
from vaekit.evaluate import encode_dataset
from vaekit.evaluate.digit_classifier import accuracy, predict_probabilities, sample_quality, train_classifier
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.viz import image_grid, latent_grid

CLASSIFIER_FILE = "classifier.safetensors"


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None         # None: all 60,000 training images
    test_size: int | None = None          # test images encoded for the scatter and the relative smoothness
    hidden: tuple[int, ...] = (512, 256)  # encoder widths of both models; the decoders mirror them
    epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 128
    classifier_hidden: tuple[int, ...] = (256,)
    classifier_epochs: int = 10
    min_classifier_accuracy: float = 0.95
    num_prior_samples: int = 5000
    grid_size: int = 20                   # grid_size² points on [−grid_limit, grid_limit]²
    grid_limit: float = 2.0
    step: float = 0.05                    # ε of the smoothness step
    fit_size: int = 10000                 # training codes the per-model Gaussian is fitted to
    seed: int = 0


@torch.no_grad()
def decoded_means(model, z: torch.Tensor) -> torch.Tensor:
    """E[x|z] (Bernoulli probabilities), shape (N, 1, 28, 28)."""
    return model.decode(z).mean


def pixel_change(model, z: torch.Tensor, step: torch.Tensor) -> float:
    """mean over points and pixels of |E[x|z] − E[x|z+δ]|; ``step`` δ has the shape of z."""
    return float((decoded_means(model, z) - decoded_means(model, z + step)).abs().mean())


def fitted_gaussian_draws(codes: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """m + L·ε for ε in ``noise``: draws of N(m, S), m and S the mean and covariance of ``codes``, S = L·Lᵀ."""
    mean = codes.mean(0)
    centred = codes - mean
    covariance = centred.T @ centred / (len(codes) - 1)
    return mean + noise @ torch.linalg.cholesky(covariance).T


@experiment("ae-vs-vae-2d", "With 2-D codes, decoding points drawn from the prior N(0, I) gives realistic digits "
            "for a VAE but not for a plain autoencoder of the same size, and the VAE's decoder changes less "
            "between nearby latent points.", Settings)
def run(report: Report, settings: Settings) -> None:
    train = dataset("mnist", "train", settings.train_size, settings.data_root, settings.seed)
    test = dataset("mnist", "test", settings.test_size, settings.data_root, settings.seed)
    classifier = train_classifier(train.images, train.labels, hidden=settings.classifier_hidden,
                                  epochs=settings.classifier_epochs, seed=settings.seed)
    classifier_accuracy = accuracy(classifier, test.images, test.labels)
    save_file(classifier.state_dict(), str(report.folder / CLASSIFIER_FILE))
    report.record(classifier_test_accuracy=classifier_accuracy, test_images=len(test))

    generator = torch.Generator().manual_seed(settings.seed)
    prior_z = torch.randn(settings.num_prior_samples, 2, generator=generator)
    directions = torch.nn.functional.normalize(torch.randn(len(prior_z), 2, generator=generator), dim=1)
    code_directions = torch.nn.functional.normalize(torch.randn(len(test), 2, generator=generator), dim=1)
    grid_z = latent_grid(settings.grid_size, settings.grid_limit)
    fit_generator = torch.Generator().manual_seed(settings.seed + 1)
    fit_noise = torch.randn(settings.num_prior_samples, 2, generator=fit_generator)
    models, codes, measured, shown = {}, {}, {}, {}
    for name, kind, objective in (("AE", "autoencoder", "reconstruction"), ("VAE", "vae", "elbo")):
        model = train_model(ModelConfig(kind=kind, latent_dim=2, hidden=settings.hidden, likelihood="bernoulli"),
                            train, epochs=settings.epochs, objective=ObjectiveConfig(name=objective),
                            binarize="dynamic", batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed)
        model_codes = encode_dataset(model, test.images)                                   # (N, 2)
        code_std = model_codes.std(0)
        prior_images, grid_images = decoded_means(model, prior_z), decoded_means(model, grid_z)
        prior_probabilities = predict_probabilities(classifier, prior_images)
        prior = sample_quality(prior_probabilities)
        fitted_z = fitted_gaussian_draws(encode_dataset(model, train.images[:settings.fit_size]), fit_noise)
        fitted = sample_quality(predict_probabilities(classifier, decoded_means(model, fitted_z)))
        grid = sample_quality(predict_probabilities(classifier, grid_images))
        measured[name] = {
            "prior_samples": prior, "grid": grid, "fitted_gaussian_samples": fitted,
            "pixel_change_absolute_step": pixel_change(model, prior_z, settings.step * directions),
            "pixel_change_relative_step": pixel_change(model, model_codes, settings.step * code_std * code_directions),
            "code_std": code_std.tolist(), "code_mean": model_codes.mean(0).tolist(),
        }
        models[name], codes[name] = model, model_codes
        shown[name] = (prior_images[:12], prior_probabilities[:12], grid_images)
    report.record(**measured)
    _checks(report, settings, classifier_accuracy, measured)
    report.table("Decodes of z ~ N(0, I) and of the grid, judged by the digit classifier; decoder smoothness",
                 ["model", "prior: mean confidence", "prior: class entropy (nats)", "prior: prediction entropy",
                  "prior: inception score", "fitted Gaussian: inception score", "fitted: mean confidence",
                  "grid: mean confidence", "grid: class entropy", "pixel change, δ = ε·u",
                  "pixel change, δ = ε·std(codes)⊙u", "code std (z₁, z₂)"],
                 [[name, m["prior_samples"]["mean_confidence"], m["prior_samples"]["class_entropy"],
                   m["prior_samples"]["prediction_entropy"], m["prior_samples"]["inception_score"],
                   m["fitted_gaussian_samples"]["inception_score"], m["fitted_gaussian_samples"]["mean_confidence"],
                   m["grid"]["mean_confidence"], m["grid"]["class_entropy"],
                   m["pixel_change_absolute_step"], m["pixel_change_relative_step"],
                   ", ".join(f"{value:.3g}" for value in m["code_std"])] for name, m in measured.items()])
    scattered = _figures(report, settings, codes, test.labels, shown, measured)
    report.record(scatter_points=scattered)


def _checks(report: Report, settings: Settings, classifier_accuracy: float, measured: dict) -> None:
    ae, vae = measured["AE"], measured["VAE"]
    report.check(f"digit classifier test accuracy > {settings.min_classifier_accuracy}",
                 classifier_accuracy > settings.min_classifier_accuracy, f"{classifier_accuracy:.4f}")
    confidence = {name: m["prior_samples"]["mean_confidence"] for name, m in measured.items()}
    report.check("decodes of z ~ N(0, I): the VAE's get a higher mean classifier confidence than the AE's",
                 confidence["VAE"] > confidence["AE"], f"VAE {confidence['VAE']:.3f}, AE {confidence['AE']:.3f}")
    scores = {name: m["prior_samples"]["inception_score"] for name, m in measured.items()}
    report.check("[added after the first full run] decodes of z ~ N(0, I): the VAE's get a higher inception score "
                 "(clear and diverse digits) than the AE's", scores["VAE"] > scores["AE"],
                 f"VAE {scores['VAE']:.2f}, AE {scores['AE']:.2f} (of at most 10)")
    fitted = {name: m["fitted_gaussian_samples"]["inception_score"] for name, m in measured.items()}
    report.check("[added after the first full run] decodes of z from a Gaussian fitted to each model's own training codes: "
                 "the VAE's get a higher inception score than the AE's", fitted["VAE"] > fitted["AE"],
                 f"VAE {fitted['VAE']:.2f}, AE {fitted['AE']:.2f}")
    for key, what in (("pixel_change_absolute_step", f"δ = {settings.step}·u at prior samples"),
                      ("pixel_change_relative_step", f"δ = {settings.step}·std(codes)⊙u at test codes")):
        report.check(f"mean pixel change for {what}: VAE < AE", vae[key] < ae[key],
                     f"VAE {vae[key]:.4f}, AE {ae[key]:.4f}")


def _figures(report: Report, settings: Settings, codes: dict, labels: torch.Tensor, shown: dict,
             measured: dict) -> dict:
    """Scatter of the test codes, decoded grids, decoded prior samples; returns the points per scatter."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    points = {}
    for axis, (name, model_codes) in zip(axes, codes.items()):
        z = model_codes.numpy()
        scatter = axis.scatter(z[:, 0], z[:, 1], c=labels.numpy(), cmap="tab10", vmin=-0.5, vmax=9.5, s=3, alpha=0.7)
        points[name] = len(scatter.get_offsets())
        for radius in (1, 2):
            axis.add_patch(plt.Circle((0, 0), radius, fill=False, color="black", ls="--", lw=1))
        axis.set(xlabel="z₁", ylabel="z₂", title=f"{name} codes of {len(z)} test digits", aspect="equal")
    colorbar = figure.colorbar(scatter, ax=axes, ticks=range(10), fraction=0.03)
    colorbar.set_label("digit")
    report.figure("codes", figure, "Codes generated by AE vs VAE: test digits in the 2-D latent space, coloured by "
                  "class; dashed circles: radius 1 and 2 of the prior N(0, I), where samples are drawn from.")

    limit = settings.grid_limit
    for name, (_, _, grid_images) in shown.items():
        figure, axis = plt.subplots(figsize=(7, 7))
        axis.imshow(image_grid(grid_images, settings.grid_size, padding=0).squeeze(-1), cmap="gray", vmin=0,
                    vmax=1, extent=(-limit, limit, -limit, limit))
        quality = measured[name]["grid"]
        axis.set(xlabel="z₁", ylabel="z₂", title=f"{name}: E[x|z] on a {settings.grid_size}×{settings.grid_size} "
                 f"grid over [−{limit:g}, {limit:g}]² (classifier confidence {quality['mean_confidence']:.2f})")
        report.figure(f"manifold_{name.lower()}", figure, f"The {name}'s decoder over a regular grid of the "
                      "latent plane (the 2-D latent manifold).")

    figure, axes = plt.subplots(2, 12, figsize=(12, 2.8))
    for row, (name, (images, probabilities, _)) in enumerate(shown.items()):
        for column in range(12):
            axis = axes[row, column]
            axis.imshow(images[column, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            confidence, digit = probabilities[column].max(0)
            axis.set_title(f"{int(digit)} ({float(confidence):.2f})", fontsize=7)
            axis.set_xticks([]), axis.set_yticks([])
        axes[row, 0].set_ylabel(name)
    figure.suptitle("E[x|z] for z ~ N(0, I); above each: the classifier's digit (confidence)", fontsize=9)
    report.figure("prior_samples", figure, "The same prior samples z ~ N(0, I) decoded by the AE (top) and the "
                  "VAE (bottom), with the classifier's prediction.")

    figure, axis = plt.subplots(figsize=(6, 3.2))
    width = 0.4
    for offset, name in ((-width / 2, "AE"), (width / 2, "VAE")):
        counts = np.array(measured[name]["prior_samples"]["class_counts"])
        axis.bar(np.arange(10) + offset, counts / counts.sum(), width, label=f"{name} (entropy "
                 f"{measured[name]['prior_samples']['class_entropy']:.2f} of max {math.log(10):.2f} nats)")
    axis.set(xlabel="predicted digit", ylabel="fraction of prior samples", xticks=range(10),
             title="Which digits do prior samples decode to?")
    axis.legend(fontsize=8)
    report.figure("predicted_digits", figure, "Histogram of the classifier's predicted digit for decodes of "
                  "z ~ N(0, I): higher entropy = more diverse digits.")
    return points
