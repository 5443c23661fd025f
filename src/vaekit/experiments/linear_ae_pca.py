"""A linear autoencoder trained on squared error spans the top-M principal subspace.

Baldi & Hornik (1989): with x̂ = W(Ax + c) + b and loss Σ‖x − x̂‖², every global minimum has
span(W) = span of the first M principal directions of the data; the code is any invertible
mix of the principal components. Measured: the principal angles between span(W) and
scikit-learn's PCA subspace (scipy.linalg.subspace_angles), and both test squared errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from vaekit.config import ModelConfig, ObjectiveConfig
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.viz import labelled_rows


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None        # None: all 60,000 training images
    test_size: int | None = None
    code_sizes: tuple[int, ...] = (2, 5, 10, 20, 30)
    epochs: int = 25
    lr: float = 0.01                      # Adam; a large rate escapes the saddles of the linear AE
    lr_decay: float = 0.85
    batch_size: int = 128
    max_angle_degrees: float = 5.0
    max_error_gap: float = 0.01           # relative
    seed: int = 0


def squared_error(reconstruction: np.ndarray, images: np.ndarray) -> float:
    """Mean over images of Σ_pixels (x − x̂)²."""
    return float(((reconstruction - images) ** 2).sum(1).mean())


@experiment("linear-ae-pca", "A linear autoencoder (no nonlinearity) trained on squared error spans the same "
            "subspace as the first M principal components, and reconstructs as well as PCA.", Settings)
def run(report: Report, settings: Settings) -> None:
    train = dataset("mnist", "train", settings.train_size, settings.data_root, settings.seed)
    test = dataset("mnist", "test", settings.test_size, settings.data_root, settings.seed)
    x_train, x_test = train.images.flatten(1).numpy(), test.images.flatten(1).numpy()
    rows, largest_angles, gaps, shown = [], [], [], {}
    for size in settings.code_sizes:
        pca = PCA(size, random_state=settings.seed).fit(x_train)
        pca_error = squared_error(pca.inverse_transform(pca.transform(x_test)), x_test)
        model = train_model(
            ModelConfig(kind="autoencoder", latent_dim=size, hidden=(), activation="identity", likelihood="gaussian"),
            train, epochs=settings.epochs, objective=ObjectiveConfig(name="reconstruction"), lr=settings.lr,
            lr_decay=settings.lr_decay, batch_size=settings.batch_size, seed=settings.seed)
        decoder_weight = model.decoder[0][0].weight.detach().numpy()                 # (784, M): span(W)
        angles = np.degrees(subspace_angles(decoder_weight, pca.components_.T))     # descending
        with torch.no_grad():
            ae_reconstruction = model.reconstruct(test.images).mean.flatten(1).numpy()
        ae_error = squared_error(ae_reconstruction, x_test)
        gap = abs(ae_error - pca_error) / pca_error
        largest_angles.append(float(angles.max()))
        gaps.append(gap)
        rows.append([size, float(angles.max()), float(np.median(angles)), pca_error, ae_error, f"{100 * gap:.2f}%"])
        report.record(**{f"M{size}": {"largest_angle_degrees": float(angles.max()), "angles_degrees": angles.tolist(),
                                      "pca_test_squared_error": pca_error, "ae_test_squared_error": ae_error}})
        shown[size] = (pca.inverse_transform(pca.transform(x_test[:10])), ae_reconstruction[:10])
    report.table("Linear AE vs PCA on the MNIST test set", ["M", "largest angle (°)", "median angle (°)",
                 "PCA squared error", "linear AE squared error", "relative gap"], rows)
    report.check(f"largest principal angle < {settings.max_angle_degrees}° for every M",
                 max(largest_angles) < settings.max_angle_degrees, f"max {max(largest_angles):.2f}°")
    report.check(f"test squared errors agree within {100 * settings.max_error_gap:.0f}%",
                 max(gaps) < settings.max_error_gap, f"max gap {100 * max(gaps):.3f}%")
    _figures(report, settings, largest_angles, rows, shown, x_test[:10])


def _figures(report, settings, largest_angles, rows, shown, originals) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(settings.code_sizes)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(sizes, largest_angles, "o-")
    left.axhline(settings.max_angle_degrees, color="grey", ls="--", label="claim threshold")
    left.set(xlabel="code size M", ylabel="largest principal angle (°)", title="span(W) vs PCA subspace")
    left.legend()
    right.plot(sizes, [row[3] for row in rows], "o-", label="PCA")
    right.plot(sizes, [row[4] for row in rows], "x--", label="linear AE")
    right.set(xlabel="code size M", ylabel="test squared error per image", title="reconstruction error")
    right.legend()
    report.figure("angles_and_errors", figure, "Largest principal angle between the linear AE's decoder span "
                  "and the PCA subspace, and test squared errors, against the code size M.")
    size = sizes[len(sizes) // 2]
    pca_images, ae_images = shown[size]
    rows = [(label, torch.as_tensor(images).view(-1, 1, 28, 28)) for label, images in
            (("data", originals), (f"PCA M={size}", pca_images), (f"linear AE M={size}", ae_images))]
    figure = labelled_rows(rows)
    report.figure("reconstructions", figure, f"Test digits and their reconstructions by PCA and the linear AE "
                  f"with M={size}: the two are indistinguishable.")
