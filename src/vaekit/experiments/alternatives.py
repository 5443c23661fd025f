"""The lecture's alternatives on one table: a VAE, a normalizing flow and a GAN on 8-bit MNIST.

Each model trains from its preset (``mnist_vae_8bit.yaml``, ``mnist_realnvp.yaml``,
``mnist_gan.yaml``) for the same wall-clock budget, on the same 8-bit images x = k/255, and
is measured the same way:

- bits/dim = −log₂ P(x) / D of the test images: for the VAE the importance-sampled bound L_k
  (a stochastic lower bound on log P(x), so its bits/dim is an upper estimate), for the flow
  its exact density by the change of variables (at one uniform dequantization per image), and
  none for the GAN, which defines no density;
- sample quality of N prior draws against N training images on the features of vaekit's digit
  classifier (``evaluate.sample_quality``): the Fréchet distance, precision and recall
  (Kynkäänniemi et al. 2019) and sharpness (mean gradient magnitude), for the VAE's mean
  images E[x|z] and pixel samples x ~ p(x|z) separately, the flow's and the GAN's samples, and
  N test images as the floor.

The claims below were written before the first full run and are not changed after it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from vaekit.config import EvalConfig, load_config
from vaekit.evaluate.estimators import estimate_log_likelihood
from vaekit.evaluate.exact_likelihood import evaluate_exact_likelihood
from vaekit.evaluate.sample_quality import (CLASSIFIER_LAYER, NOT_INCEPTION, ClassifierSettings, draw_images,
                                            feature_classifier, sample_quality_metrics)
from vaekit.experiments.common import dataset
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.presets import PRESET_DIR
from vaekit.runs import train_run

MODELS = {"vae": ("VAE (discretized logistic)", "mnist_vae_8bit.yaml"),
          "flow": ("RealNVP flow", "mnist_realnvp.yaml"),
          "gan": ("GAN (DCGAN)", "mnist_gan.yaml")}


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    minutes: float = 10.0                   # training budget per model (wall clock)
    epochs: int = 100                       # upper bound; the budget stops training first
    epoch_size: int | None = None           # images per epoch; None: the preset's whole training split
    test_size: int = 1000                   # test images for bits/dim
    importance_samples: int = 1000          # k of the VAE's L_k
    sample_size: int = 2000                 # N of each sample-quality set and of the reference
    classifier_epochs: int = 5
    classifier_train_size: int = 60_000
    seed: int = 0


def _train(name: str, settings: Settings, folder: Path):
    """Train ``MODELS[name]``'s preset into ``folder/runs/name``; (model, wall-clock seconds)."""
    overrides = [f"run_dir={folder / 'runs' / name}", f"train.epochs={settings.epochs}",
                 f"train.time_limit_minutes={settings.minutes}", "train.progress=false",
                 f"train.seed={settings.seed}"]
    if settings.data_root is not None:
        overrides.append(f"data.root={settings.data_root}")
    if settings.epoch_size is not None:
        overrides.append(f"train.epoch_size={settings.epoch_size}")
    config = load_config(PRESET_DIR / MODELS[name][1], overrides)
    started = time.perf_counter()
    model, history = train_run(config)
    return model.eval(), time.perf_counter() - started, len(history.epochs)


def _bits_per_dim(name: str, model, images: torch.Tensor, settings: Settings) -> dict:
    """nll (nats per image), its standard error and bits/dim; {} for the GAN."""
    torch.manual_seed(settings.seed)
    if name == "gan":
        return {}
    if name == "flow":
        found = evaluate_exact_likelihood(model, images, EvalConfig(batch_size=200))
        return {"nll": found["nll"], "nll_standard_error": found["nll_standard_error"],
                "bits_per_dim": found["bits_per_dim"], "kind": "exact (change of variables)"}
    found = estimate_log_likelihood(model, images, EvalConfig(importance_samples=settings.importance_samples,
                                                              sample_chunk=100, batch_size=100))
    return {"nll": found["nll"], "nll_standard_error": found["nll_standard_error"],
            "bits_per_dim": found["nll"] / (model.num_pixels * math.log(2)),
            "kind": f"IS bound, k = {settings.importance_samples}"}


@experiment("alternatives", "The lecture's comparison, measured on 8-bit MNIST at one training budget: VAE mean "
            "images are blurrier than GAN and flow samples; the GAN has no likelihood while the flow's is exact; "
            "the flow's exact bits/dim is lower than the VAE's importance-sampled bound; the GAN's samples have "
            "the best classifier Fréchet distance of the generated sets.", Settings)
def run(report: Report, settings: Settings) -> None:
    test = dataset("mnist", "test", settings.test_size, settings.data_root, settings.seed).images
    train = dataset("mnist", "train", settings.sample_size, settings.data_root, settings.seed).images
    references = dataset("mnist", "test", settings.sample_size, settings.data_root, settings.seed + 1).images
    classifier, about = feature_classifier(
        report.folder / "feature_classifier.safetensors", settings.data_root,
        ClassifierSettings(train_size=settings.classifier_train_size, epochs=settings.classifier_epochs,
                           seed=settings.seed))
    image_sets, measured = {"test images": references}, {}
    for name, (label, _) in MODELS.items():
        model, seconds, epochs = _train(name, settings, report.folder)
        drawn = draw_images(model, settings.sample_size, seed=settings.seed)
        if "means" in drawn:
            image_sets[f"{label}: means"] = drawn["means"]
        image_sets[f"{label}: samples"] = drawn["samples"]
        measured[name] = {"label": label, "train_seconds": seconds, "epochs": epochs,
                          **_bits_per_dim(name, model, test, settings)}
    scores = sample_quality_metrics(classifier, image_sets, train)        # reference features computed once
    quality = {name: {key: scores[f"sample_quality_{name}_{key}"] for key in ("fd", "precision", "recall", "sharpness")}
               for name in image_sets}
    report.record(models=measured, sample_quality=quality, classifier={**about, "layer": CLASSIFIER_LAYER,
                                                                       "note": NOT_INCEPTION})
    _table(report, settings, measured, quality)
    _checks(report, measured, quality)
    _sample_figure(report, image_sets)


def _model_of(set_name: str) -> str | None:
    return next((name for name, (label, _) in MODELS.items() if set_name.startswith(label)), None)


def _table(report: Report, settings: Settings, measured: dict, quality: dict) -> None:
    rows = []
    for set_name, scores in quality.items():
        name = _model_of(set_name)
        found = measured.get(name, {})
        bits = (f"{found['bits_per_dim']:.3f} ({found['kind']})" if "bits_per_dim" in found
                else "– (no likelihood)" if name == "gan" else "")
        minutes = f"{found['train_seconds'] / 60:.1f}" if name else "–"
        rows.append([set_name, bits, scores["fd"], scores["precision"], scores["recall"], scores["sharpness"], minutes])
    report.table(f"8-bit MNIST: bits/dim on {settings.test_size} test images; sample quality of "
                 f"{settings.sample_size} draws against {settings.sample_size} training images on the "
                 f"{CLASSIFIER_LAYER} features of vaekit's digit classifier (not comparable with Inception FIDs)",
                 ["set", "bits/dim", "classifier FD", "precision", "recall", "sharpness", "train min"], rows)


def _checks(report: Report, measured: dict, quality: dict) -> None:
    sharp = {name: scores["sharpness"] for name, scores in quality.items()}
    vae_means = sharp[f"{MODELS['vae'][0]}: means"]
    gan, flow = sharp[f"{MODELS['gan'][0]}: samples"], sharp[f"{MODELS['flow'][0]}: samples"]
    report.check("VAE mean images are blurrier (lower mean gradient magnitude) than GAN and flow samples",
                 vae_means < gan and vae_means < flow,
                 f"VAE means {vae_means:.4f}, GAN {gan:.4f}, flow {flow:.4f}")
    flow_found, vae_found = measured["flow"], measured["vae"]
    report.check("the GAN has no likelihood, the flow an exact one",
                 "bits_per_dim" not in measured["gan"] and math.isfinite(flow_found.get("bits_per_dim", math.nan)),
                 f"GAN: none; flow: {flow_found.get('bits_per_dim', math.nan):.3f} bits/dim exact")
    difference = vae_found["bits_per_dim"] - flow_found["bits_per_dim"]
    report.check("the flow's exact bits/dim is lower than the VAE's IS bound", difference > 0,
                 f"flow {flow_found['bits_per_dim']:.3f}, VAE {vae_found['bits_per_dim']:.3f} bits/dim "
                 f"({vae_found['kind']}): the {'flow' if difference > 0 else 'VAE'} is lower by "
                 f"{abs(difference):.3f} bits/dim")
    generated = {name: scores["fd"] for name, scores in quality.items() if name != "test images"}
    best = min(generated, key=generated.get)
    report.check("the GAN's samples have the best classifier FD of the generated sets",
                 best == f"{MODELS['gan'][0]}: samples",
                 "; ".join(f"{name} {value:.2f}" for name, value in sorted(generated.items(), key=lambda kv: kv[1]))
                 + f" (test images: {quality['test images']['fd']:.2f})")


def _sample_figure(report: Report, image_sets: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 10
    figure, axes = plt.subplots(len(image_sets), 1, figsize=(columns * 0.8, len(image_sets) * 1.0))
    for axis, (name, images) in zip(axes, image_sets.items()):
        strip = torch.cat(list(images[:columns, 0]), dim=1)                   # (28, 28·columns)
        axis.imshow(strip.numpy(), cmap="gray", vmin=0, vmax=1)
        axis.set_title(name, fontsize=8, loc="left")
        axis.axis("off")
    report.figure("samples", figure, "The first ten draws of each model (the VAE's mean images and pixel samples "
                  "of the same z), and test images for reference.")
