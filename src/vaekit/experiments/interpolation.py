"""Walking the latent space of a VAE: interpolation and latent arithmetic.

Interpolation between the codes z₀, z₁ (posterior means μ(x)) of two test digits decodes
z(t) = (1−t) z₀ + t z₁ (linear) or slerp(z₀, z₁; t) = sin((1−t)Ω)/sin Ω · z₀ + sin(tΩ)/sin Ω · z₁
(Shoemake 1985; White 2016, "Sampling generative networks"). Samples of p(z) = N(0, I_D) lie near
the shell ‖z‖ ≈ √D; the linear midpoint of two of them has ‖z‖ ≈ √(D/2), off the shell, while
slerp keeps the norm. Arithmetic (Radford et al. 2016; White 2016): the class-mean difference
μ_b − μ_a of training codes, added to the code of a digit of class a, should decode to a b in
the same style; the same with an attribute direction found without labels (thick minus thin
strokes, by pixel mass). A digit classifier on pixels (vaekit.evaluate.digit_classifier) judges.
The encoder sees the grey test images, the expectation of the binarized inputs it was trained on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vaekit.config import ModelConfig
from vaekit.evaluate import encode_dataset
from vaekit.evaluate.digit_classifier import accuracy, predict_probabilities, train_classifier
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.viz import image_grid, interpolate

METHODS = ("linear", "slerp")
PATH_POINTS = 101                        # t = 0, 0.01, ..., 1 for the norm measurements on prior samples


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None        # None: all 60,000 training images
    test_size: int = 2000                # test images: interpolation pairs, arithmetic, thickness
    latent_dim: int = 16
    hidden: tuple[int, ...] = (400,)
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    num_pairs: int = 6                   # interpolated pairs of test images (rows of the figure)
    steps: int = 10                      # decoded points per path, endpoints included
    prior_pairs: int = 10000             # pairs z₀, z₁ ~ N(0, I_D) for the norm measurements
    arithmetic_from: tuple[int, ...] = (1, 4, 0, 2)    # class a of each a → b pair
    arithmetic_to: tuple[int, ...] = (7, 9, 6, 3)      # class b
    shown: int = 8                       # images per row in the arithmetic and thickness figures
    classifier_train_size: int = 20000
    classifier_hidden: tuple[int, ...] = (256,)       # () would be logistic regression
    classifier_epochs: int = 10
    thickness_fraction: float = 0.1      # the thickest and thinnest deciles by pixel mass
    max_step_fraction: float = 0.5       # largest step between frames / change between endpoints
    min_fraction_after: float = 0.5      # classified as b after adding μ_b − μ_a
    max_fraction_before: float = 0.1     # classified as b before (reconstructions of the a digits)
    seed: int = 0


def pixel_change(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Mean absolute pixel difference per image, (..., C, H, W) → (...)."""
    return (after - before).abs().flatten(-3).mean(-1)


@experiment("interpolation", "In a VAE's latent space, paths between codes decode to a smooth morph between "
            "digits; slerp keeps the norm typical of the prior while linear paths pass closer to the origin; "
            "adding the class-mean difference μ_b − μ_a to the code of an a turns it into a b.", Settings)
def run(report: Report, settings: Settings) -> None:
    if len(settings.arithmetic_from) != len(settings.arithmetic_to):
        raise ValueError(f"arithmetic_from and arithmetic_to must pair up, got {settings.arithmetic_from} "
                         f"and {settings.arithmetic_to}")
    train = dataset("mnist", "train", settings.train_size, settings.data_root, settings.seed)
    test = dataset("mnist", "test", settings.test_size, settings.data_root, settings.seed)
    model = train_model(ModelConfig(latent_dim=settings.latent_dim, hidden=settings.hidden, likelihood="bernoulli"),
                        train, epochs=settings.epochs, binarize="dynamic", batch_size=settings.batch_size,
                        lr=settings.lr, seed=settings.seed)
    prior_norms = _prior_paths(report, settings)
    train_codes, test_codes = encode_dataset(model, train.images), encode_dataset(model, test.images)
    classifier = _classifier(report, settings, test)
    with torch.no_grad():
        frames = _interpolations(report, settings, model, test, test_codes)
        arithmetic = _arithmetic(report, settings, model, classifier, train, test, train_codes, test_codes)
        thickness = _thickness(report, settings, model, classifier, train, test, train_codes, test_codes)
    _figures(report, settings, prior_norms, frames, test, arithmetic, thickness)


def _prior_paths(report: Report, settings: Settings) -> dict[str, torch.Tensor]:
    """‖z(t)‖ along both paths between pairs of prior samples, in float64."""
    generator = torch.Generator().manual_seed(settings.seed)
    start, end = torch.randn(2, settings.prior_pairs, settings.latent_dim, generator=generator, dtype=torch.float64)
    start_norm, end_norm = start.norm(dim=-1), end.norm(dim=-1)                    # (N,)
    low, high = torch.minimum(start_norm, end_norm) * (1 - 1e-9), torch.maximum(start_norm, end_norm) * (1 + 1e-9)
    norms, summary = {}, {}
    for method in METHODS:
        norms[method] = interpolate(start, end, PATH_POINTS, method).norm(dim=-1)   # (T, N)
        smallest, largest = norms[method].min(0).values, norms[method].max(0).values
        summary[method] = {
            "fraction_dipping_below_both_endpoints": float((smallest < low).double().mean()),
            "fraction_within_endpoint_norms": float(((smallest >= low) & (largest <= high)).double().mean()),
            "mean_relative_dip": float(((low - smallest) / low).clamp(min=0).mean()),
            "midpoint_norm_ratio": float((norms[method][PATH_POINTS // 2] / (start_norm + end_norm) * 2).mean()),
        }
    report.record(prior_paths={"latent_dim": settings.latent_dim, "pairs": settings.prior_pairs,
                               "sqrt_latent_dim": math.sqrt(settings.latent_dim), **summary})
    linear, spherical = summary["linear"], summary["slerp"]
    report.check("linear paths between two N(0, I) samples pass below both endpoint norms (≥ 95% of pairs)",
                 linear["fraction_dipping_below_both_endpoints"] >= 0.95,
                 f"{100 * linear['fraction_dipping_below_both_endpoints']:.1f}% of {settings.prior_pairs} pairs, "
                 f"D={settings.latent_dim}")
    report.check("midpoint norm / endpoint norm: ≈ √½ = 0.707 for linear, ≈ 1 for slerp (within 0.05)",
                 abs(linear["midpoint_norm_ratio"] - math.sqrt(0.5)) < 0.05
                 and abs(spherical["midpoint_norm_ratio"] - 1) < 0.05,
                 f"linear {linear['midpoint_norm_ratio']:.3f}, slerp {spherical['midpoint_norm_ratio']:.3f}")
    report.check("slerp keeps the norm: its mean dip below the smaller endpoint norm is < 1/10 of linear's",
                 spherical["mean_relative_dip"] < linear["mean_relative_dip"] / 10,
                 f"slerp {100 * spherical['mean_relative_dip']:.2f}% vs "
                 f"linear {100 * linear['mean_relative_dip']:.1f}%;"
                 f" slerp stays within the endpoint norms for {100 * spherical['fraction_within_endpoint_norms']:.0f}%"
                 " of pairs (exactly only when they are equal)")
    return norms


def _interpolations(report, settings, model, test, codes) -> dict[str, torch.Tensor]:
    """Decoded means along both paths between test pairs (2p, 2p+1); (P, steps, 1, 28, 28) per method."""
    start, end = codes[0:2 * settings.num_pairs:2], codes[1:2 * settings.num_pairs:2]   # (P, D)
    frames, record, ratios = {}, {}, []
    for method in METHODS:
        path = interpolate(start, end, settings.steps, method)                          # (T, P, D)
        frames[method] = model.decode(path).mean.transpose(0, 1)                        # (P, T, 1, 28, 28)
        steps = pixel_change(frames[method][:, :-1], frames[method][:, 1:])             # (P, T−1)
        endpoints = pixel_change(frames[method][:, 0], frames[method][:, -1])           # (P,)
        ratios.append(steps.max(1).values / endpoints)
        record[method] = {
            "code_norms": path.norm(dim=-1).T.tolist(),                                 # (P, T)
            "endpoint_error": float(torch.maximum((path[0] - start).abs().max(), (path[-1] - end).abs().max())),
            "max_step_change": steps.max(1).values.tolist(), "endpoint_change": endpoints.tolist()}
    worst = float(torch.cat(ratios).max())
    report.record(pairs={"test_index": list(range(2 * settings.num_pairs)),
                         "labels": test.labels[:2 * settings.num_pairs].tolist(),
                         "t": torch.linspace(0, 1, settings.steps).tolist(),
                         "codes_start": start.tolist(), "codes_end": end.tolist(), **record})
    report.check(f"decoded paths are smooth: the largest change between consecutive frames is < "
                 f"{settings.max_step_fraction} × the change between the endpoints (every pair, both methods)",
                 worst < settings.max_step_fraction,
                 f"largest ratio {worst:.3f} (mean absolute pixel change, {settings.steps} frames)")
    return frames


def _classifier(report, settings, test) -> nn.Module:
    """An MLP digit classifier on grey training pixels, the judge of the arithmetic."""
    data = dataset("mnist", "train", settings.classifier_train_size, settings.data_root, settings.seed + 1)
    classifier = train_classifier(data.images, data.labels, hidden=settings.classifier_hidden,
                                  epochs=settings.classifier_epochs, seed=settings.seed)
    report.record(classifier={"train_size": len(data.images), "hidden": list(settings.classifier_hidden),
                              "test_accuracy": accuracy(classifier, test.images, test.labels)})
    return classifier


def _predict(classifier: nn.Module, images: torch.Tensor) -> np.ndarray:
    """Most probable digit of each image, shape (N,)."""
    return predict_probabilities(classifier, images).argmax(1).numpy()


def _arithmetic(report, settings, model, classifier, train, test, train_codes, test_codes) -> list[dict]:
    """Codes of the test a's plus μ_b − μ_a (class means of training codes), decoded and classified."""
    class_means = torch.stack([train_codes[train.labels == digit].mean(0) for digit in range(10)])   # (10, D)
    shown, record, held = [], {}, True
    for source, target in zip(settings.arithmetic_from, settings.arithmetic_to):
        chosen = test.labels == source
        codes = test_codes[chosen]
        reconstructions = model.decode(codes).mean
        moved = model.decode(codes + class_means[target] - class_means[source]).mean
        fractions = {name: float((_predict(classifier, images) == target).mean()) for name, images in
                     (("originals", test.images[chosen]), ("reconstructions", reconstructions), ("after", moved))}
        record[f"{source}_to_{target}"] = {"count": int(chosen.sum()), **{f"fraction_{target}_{name}": value
                                                                          for name, value in fractions.items()}}
        held &= fractions["after"] > settings.min_fraction_after and \
            fractions["reconstructions"] < settings.max_fraction_before
        shown.append({"source": source, "target": target, "fractions": fractions,
                      "rows": (test.images[chosen][:settings.shown], reconstructions[:settings.shown],
                               moved[:settings.shown])})
    report.record(arithmetic=record)
    report.check(f"adding μ_b − μ_a to the codes of test a's: > {settings.min_fraction_after:.0%} classified as b "
                 f"after, < {settings.max_fraction_before:.0%} before (reconstructions), for every pair", held,
                 "; ".join(f"{s['source']}→{s['target']}: {s['fractions']['reconstructions']:.0%} → "
                           f"{s['fractions']['after']:.0%}" for s in shown))
    return shown


def _thickness(report, settings, model, classifier, train, test, train_codes, test_codes) -> dict:
    """Direction (mean code of the heaviest decile by pixel mass) − (mean code of the lightest), ± to test codes."""
    mass = train.images.flatten(1).sum(1)                                                          # (N,)
    low, high = torch.quantile(mass, torch.tensor([settings.thickness_fraction, 1 - settings.thickness_fraction]))
    direction = train_codes[mass >= high].mean(0) - train_codes[mass <= low].mean(0)
    decoded = {name: model.decode(test_codes + sign * direction).mean
               for name, sign in (("thinner", -1), ("reconstruction", 0), ("thicker", 1))}
    masses = {name: images.flatten(1).sum(1) for name, images in decoded.items()}
    labels = {name: _predict(classifier, images) for name, images in decoded.items()}
    heavier = float((masses["thicker"] > masses["reconstruction"]).double().mean())
    lighter = float((masses["thinner"] < masses["reconstruction"]).double().mean())
    same_class = {name: float((labels[name] == labels["reconstruction"]).mean()) for name in ("thinner", "thicker")}
    report.record(thickness={
        "direction_norm": float(direction.norm()), "fraction_heavier_after_adding": heavier,
        "fraction_lighter_after_subtracting": lighter,
        **{f"mean_pixel_mass_{name}": float(value.mean()) for name, value in masses.items()},
        **{f"fraction_same_class_{name}": value for name, value in same_class.items()}})
    report.check("a direction found without labels (heaviest minus lightest decile by pixel mass) thickens the "
                 "strokes when added and thins them when subtracted (≥ 90% of test images)",
                 min(heavier, lighter) >= 0.9,
                 f"pixel mass {masses['thinner'].mean():.0f} ← {masses['reconstruction'].mean():.0f} → "
                 f"{masses['thicker'].mean():.0f}; heavier {heavier:.0%}, lighter {lighter:.0%}; entangled with "
                 f"the class: predicted class kept {same_class['thinner']:.0%} (−), {same_class['thicker']:.0%} (+)")
    return {"data": test.images[:settings.shown], **{name: images[:settings.shown] for name, images in decoded.items()}}


def _figures(report, settings, prior_norms, frames, test, arithmetic, thickness) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = 2 * settings.num_pairs
    ends_start, ends_end = test.images[0:count:2], test.images[1:count:2]
    labels = test.labels[:count].tolist()
    row_labels = [f"{labels[2 * pair]} → {labels[2 * pair + 1]}" for pair in range(settings.num_pairs)]
    column_labels = ["x₀"] + [f"{t:.2f}" for t in torch.linspace(0, 1, settings.steps).tolist()] + ["x₁"]
    for method, name in (("linear", "linear"), ("slerp", "spherical (slerp)")):
        rows = torch.cat([ends_start[:, None], frames[method], ends_end[:, None]], 1)       # (P, T+2, 1, 28, 28)
        figure, axis = plt.subplots(figsize=(0.55 * (settings.steps + 2) + 0.8, 0.55 * settings.num_pairs + 0.8))
        _image_block(axis, rows.flatten(0, 1), settings.steps + 2, row_labels, column_labels)
        axis.set_title(f"{name} interpolation of posterior means (t along the path; x₀, x₁: test images)",
                       fontsize=9)
        report.figure(f"interpolation_{method}", figure, f"{name.capitalize()} interpolation between the codes of "
                      "pairs of test digits: the outer columns are the test images, t = 0 and t = 1 their "
                      "reconstructions, the frames between decoded means along the path.")

    figure, axis = plt.subplots(figsize=(5.5, 3.6))
    t = np.linspace(0, 1, PATH_POINTS)
    for method, color in zip(METHODS, ("C0", "C1")):
        norms = prior_norms[method].numpy()
        axis.plot(t, norms.mean(1), color=color, label=f"{method} (mean)")
        axis.fill_between(t, *np.percentile(norms, [10, 90], axis=1), color=color, alpha=0.2,
                          label=f"{method} (10–90%)")
    axis.axhline(math.sqrt(settings.latent_dim), color="grey", ls="--", label="√D")
    axis.set(xlabel="t", ylabel="‖z(t)‖",
             title=f"norm along paths between two N(0, I) samples, D={settings.latent_dim}")
    axis.legend(fontsize=8)
    report.figure("path_norms", figure, "Norm of the code along linear and spherical paths between pairs of "
                  "prior samples: the linear path sinks towards ‖z‖ ≈ √(D/2) at t = ½, where the prior has "
                  "little mass.")

    figure, axes = plt.subplots(len(arithmetic), 1, figsize=(0.55 * settings.shown + 1.6, 1.9 * len(arithmetic)),
                                squeeze=False)
    for axis, shown in zip(axes[:, 0], arithmetic):
        source, target, fractions = shown["source"], shown["target"], shown["fractions"]
        _image_block(axis, torch.cat(shown["rows"]), settings.shown,
                     ["data", "reconstruction", f"+ μ{target} − μ{source}"])
        axis.set_title(f"{source} → {target}: classified as {target}: {fractions['reconstructions']:.0%} before, "
                       f"{fractions['after']:.0%} after", fontsize=9)
    figure.tight_layout()
    report.figure("arithmetic", figure, "Latent arithmetic: test digits of class a, their reconstructions, and the "
                  "decoded codes plus the difference of the class-mean codes μ_b − μ_a (training set).")

    figure, axis = plt.subplots(figsize=(0.55 * settings.shown + 1.6, 2.8))
    _image_block(axis, torch.cat([thickness[name] for name in ("data", "thinner", "reconstruction", "thicker")]),
                 settings.shown, ["data", "− thickness", "reconstruction", "+ thickness"])
    axis.set_title("thickness direction (heaviest − lightest decile by pixel mass)", fontsize=9)
    report.figure("thickness", figure, "An attribute direction found without labels: the mean code of the 10% "
                  "heaviest training digits minus that of the 10% lightest, subtracted from and added to test codes. "
                  "It also carries class information (heavy digits are often 0 and 8, light ones 1), so some "
                  "digits change identity.")


def _image_block(axis, images: torch.Tensor, columns: int, row_labels: list[str],
                 column_labels: list[str] | None = None) -> None:
    grid = image_grid(images, columns)
    axis.imshow(grid.squeeze(-1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axis.set_yticks([(row + 0.5) * grid.shape[0] / len(row_labels) for row in range(len(row_labels))], row_labels,
                    fontsize=8)
    if column_labels is None:
        axis.set_xticks([])
    else:
        axis.set_xticks([(column + 0.5) * grid.shape[1] / columns for column in range(columns)], column_labels,
                        fontsize=7)
