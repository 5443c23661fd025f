"""Sample quality of any image generator: a Fréchet distance, precision and recall on the features of
vaekit's digit classifier, and the sharpness of the images.

Features.  φ(x) is the hidden layer of the MLP digit classifier of ``vaekit.evaluate.digit_classifier``
(784 → 256 → 10), taken after its ReLU: φ(x) = ReLU(W₁ vec(x) + b₁) ∈ R^256, the layer named
``CLASSIFIER_LAYER``. The classifier is trained with a fixed seed on MNIST train (5 epochs of Adam)
and cached with its settings; no Inception weights are downloaded. The numbers are therefore NOT
comparable with Inception FIDs (Heusel et al. 2017) or Inception precision/recall: they compare models
on 28×28 grey images under this one feature map and nothing else.

Fréchet distance (Heusel et al. 2017, eq. 6) between Gaussians fitted to two feature sets:

    FD = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})

with the unbiased sample covariances. Tr (Σ_a Σ_b)^{1/2} = Tr (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}, a
symmetric PSD matrix, so its eigenvalues come from ``eigh`` and are real (no imaginary parts to
drop). The estimate is biased upwards at finite N: compare rows at the same N only.

Precision and recall (Kynkäänniemi et al. 2019, eqs. 1-3): each point φ of a set Φ gets the ball of
radius ‖φ − NN_k(φ, Φ)‖ (its k-th nearest other point); the manifold of Φ is the union of the balls.

    precision = (1/|Φ_g|) Σ_{φ_g} 1[φ_g lies in the manifold of the real Φ_r]   (samples look real)
    recall    = (1/|Φ_r|) Σ_{φ_r} 1[φ_r lies in the manifold of the generated Φ_g]  (reals are covered)

Sharpness: the mean gradient magnitude of an image by forward differences on its (H−1)×(W−1) grid,

    G(x) = mean_{c, i<H−1, j<W−1} sqrt((x_{c,i,j+1} − x_{c,i,j})² + (x_{c,i+1,j} − x_{c,i,j})²),

0 for a constant image, √2 for a 0/1 checkerboard. Pixel noise raises it too: it says "blurry" of
mean images, not "good" of noisy ones.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save
from torch import nn

from vaekit.atomic import atomic_write
from vaekit.data import load_dataset
from vaekit.evaluate.digit_classifier import accuracy, build_classifier, train_classifier
from vaekit.evaluate.summary import mean_or_none

IMAGE_SHAPE = (1, 28, 28)
NOT_INCEPTION = ("classifier-feature FD/precision/recall on vaekit's MNIST digit classifier; "
                 "not comparable with Inception FIDs")


@dataclass(frozen=True)
class ClassifierSettings:
    """The feature classifier: MLP(784, hidden, 10) trained on the first ``train_size`` MNIST train images."""
    train_size: int = 60_000
    hidden: tuple[int, ...] = (256,)
    epochs: int = 5
    seed: int = 0

    @property
    def layer(self) -> str:
        return f"hidden-{self.hidden[-1]} (post-ReLU)"


CLASSIFIER = ClassifierSettings()
CLASSIFIER_LAYER = CLASSIFIER.layer


def feature_classifier(cache_path: str | Path | None = None, data_root: str | Path | None = None,
                       settings: ClassifierSettings | None = None) -> tuple[nn.Module, dict]:
    """The digit classifier (eval mode) and a description: data, layer, settings, MNIST test accuracy.

    Read from ``cache_path`` when it holds one trained with the same settings, else trained (seeded,
    deterministic) and written there atomically. ``settings`` defaults to the module's ``CLASSIFIER``.
    """
    settings = CLASSIFIER if settings is None else settings
    if not settings.hidden:
        raise ValueError("the feature classifier needs a hidden layer; got hidden=()")
    wanted = {"settings": json.dumps(asdict(settings))}
    if cache_path is not None and Path(cache_path).is_file():
        with safe_open(str(cache_path), framework="pt") as file:
            metadata = file.metadata() or {}
            if metadata.get("settings") == wanted["settings"]:
                classifier = build_classifier(IMAGE_SHAPE, settings.hidden)
                classifier.load_state_dict({key: file.get_tensor(key) for key in file.keys()})
                return classifier.eval(), json.loads(metadata["description"])
    train = load_dataset("mnist", "train", root=data_root)
    classifier = train_classifier(train.images[:settings.train_size], train.labels[:settings.train_size],
                                  hidden=settings.hidden, epochs=settings.epochs, seed=settings.seed)
    test = load_dataset("mnist", "test", root=data_root)
    description = {"data": f"mnist-train (first {min(settings.train_size, len(train))})", "layer": settings.layer,
                   "epochs": settings.epochs, "seed": settings.seed,
                   "test_accuracy": accuracy(classifier, test.images, test.labels)}
    if cache_path is not None:
        with atomic_write(cache_path) as file:
            file.write(save(classifier.state_dict(), {**wanted, "description": json.dumps(description)}))
    return classifier, description


def check_images(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Float images (N, 1, 28, 28) with values in [0, 1], as the classifier was trained on."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name}: expected images of shape (N, 1, 28, 28), got {shape}")
    images = images.float()
    if len(images) and (images.min() < 0 or images.max() > 1 or not torch.isfinite(images).all()):
        raise ValueError(f"{name}: expected pixel values in [0, 1], got range "
                         f"[{float(images.min()):.3g}, {float(images.max()):.3g}]")
    return images


@torch.no_grad()
def image_features(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """φ(x): the classifier's activations before its last Linear layer, shape (N, hidden[-1])."""
    images = check_images(images)
    flatten, mlp = classifier                                    # build_classifier: Flatten → MLP
    body = nn.Sequential(flatten, *list(mlp)[:-1])               # ... → Linear → ReLU
    body.eval()
    return torch.cat([body(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def _as_float64(features, name: str) -> np.ndarray:
    array = np.asarray(features.detach().cpu() if isinstance(features, torch.Tensor) else features, np.float64)
    if array.ndim != 2 or len(array) < 2 or not np.isfinite(array).all():
        raise ValueError(f"{name}: expected finite features of shape (N ≥ 2, D), got shape {array.shape}")
    return array


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance_from_moments(mean_a, cov_a, mean_b, cov_b) -> float:
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}) for PSD Σ_a, Σ_b; ≥ 0."""
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.atleast_2d(np.asarray(cov_a, np.float64)), np.atleast_2d(np.asarray(cov_b, np.float64))
    if mean_a.shape != mean_b.shape or cov_a.shape != cov_b.shape or cov_a.shape != (mean_a.size, mean_a.size):
        raise ValueError(f"expected means (D,) and covariances (D, D) of one D, got {mean_a.shape}, "
                         f"{cov_a.shape}, {mean_b.shape}, {cov_b.shape}")
    root_a = _symmetric_sqrt(cov_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()  # Tr (Σa Σb)^{1/2}
    distance = float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)
    return max(distance, 0.0)


def frechet_distance(features_a, features_b) -> float:
    """FD between Gaussians fitted (mean, unbiased covariance) to features (N_a, D) and (N_b, D)."""
    features_a, features_b = _as_float64(features_a, "features_a"), _as_float64(features_b, "features_b")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"features of different widths: {features_a.shape[1]} and {features_b.shape[1]}")
    return frechet_distance_from_moments(features_a.mean(0), np.cov(features_a, rowvar=False),
                                         features_b.mean(0), np.cov(features_b, rowvar=False))


def _knn_radii(points: torch.Tensor, k: int, chunk_size: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest other point, shape (N,)."""
    return torch.cat([torch.cdist(points[i:i + chunk_size], points).kthvalue(k + 1, dim=1).values  # self at 0
                      for i in range(0, len(points), chunk_size)])


def _fraction_inside(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk_size: int) -> float:
    """Fraction of queries within radii[j] of some centres[j]."""
    inside = [(torch.cdist(queries[i:i + chunk_size], centres) <= radii).any(1)        # (chunk, M) → (chunk,)
              for i in range(0, len(queries), chunk_size)]
    return float(torch.cat(inside).double().mean())


def precision_recall(real_features, fake_features, k: int = 3, chunk_size: int = 1000) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls; see the module docstring."""
    real = torch.from_numpy(_as_float64(real_features, "real_features"))
    fake = torch.from_numpy(_as_float64(fake_features, "fake_features"))
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"features of different widths: {real.shape[1]} and {fake.shape[1]}")
    if not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k must lie in [1, {min(len(real), len(fake)) - 1}] for sets of {len(real)} and "
                         f"{len(fake)} points, got {k}")
    precision = _fraction_inside(fake, real, _knn_radii(real, k, chunk_size), chunk_size)
    recall = _fraction_inside(real, fake, _knn_radii(fake, k, chunk_size), chunk_size)
    return precision, recall


def mean_gradient_magnitude(images: torch.Tensor) -> torch.Tensor:
    """G(x) of each image (N, C, H, W) with H, W ≥ 2, shape (N,); see the module docstring."""
    if images.dim() != 4 or images.shape[2] < 2 or images.shape[3] < 2:
        raise ValueError(f"expected images of shape (N, C, H ≥ 2, W ≥ 2), got {tuple(images.shape)}")
    images = images.double()
    across = images[..., :-1, 1:] - images[..., :-1, :-1]         # (N, C, H−1, W−1)
    down = images[..., 1:, :-1] - images[..., :-1, :-1]           # (N, C, H−1, W−1)
    return (across ** 2 + down ** 2).sqrt().flatten(1).mean(1)


@torch.no_grad()
def draw_images(model, num_samples: int, seed: int = 0, batch_size: int = 500) -> dict[str, torch.Tensor]:
    """{"means": E[x|z], "samples": x ~ p(x|z)} for z ~ p(z), clipped to [0, 1] as a saved image is.

    ``model.sample(n, generator=...)`` may return a distribution (a VAE's p(x|z); "means" is left out
    where it has no mean) or images directly (a GAN, a flow), which are reported as "samples".
    """
    generator = torch.Generator().manual_seed(seed)
    drawn: dict[str, list[torch.Tensor]] = {"means": [], "samples": []}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for start in range(0, num_samples, batch_size):
            output = model.sample(min(batch_size, num_samples - start), generator=generator)
            if isinstance(output, torch.Tensor):
                drawn["samples"].append(output)
                continue
            mean = mean_or_none(output)
            if mean is not None:
                drawn["means"].append(mean)
            drawn["samples"].append(output.sample())
    return {name: torch.cat(parts).float().clamp(0, 1) for name, parts in drawn.items() if parts}


def score_images(classifier: nn.Module, images: torch.Tensor, reference_features: torch.Tensor,
                 k: int = 3) -> dict[str, float]:
    """fd, precision, recall against the reference features and mean sharpness of ``images`` in [0, 1]."""
    features = image_features(classifier, images)
    precision, recall = precision_recall(reference_features, features, k)
    return {"fd": frechet_distance(reference_features, features), "precision": precision, "recall": recall,
            "sharpness": float(mean_gradient_magnitude(images).mean())}


def sample_quality_metrics(classifier: nn.Module, image_sets: dict[str, torch.Tensor],
                           reference_images: torch.Tensor, k: int = 3) -> dict:
    """Flat ``sample_quality_{set}_{fd,precision,recall,sharpness}`` of each named set of images against
    ``reference_images`` (the training images), e.g. sets "means", "samples" and "test" (the floor)."""
    reference_features = image_features(classifier, check_images(reference_images, "reference_images"))
    metrics: dict = {"sample_quality_reference_images": len(reference_images), "sample_quality_k": k}
    for name, images in image_sets.items():
        scores = score_images(classifier, check_images(images, name), reference_features, k)
        metrics.update({f"sample_quality_{name}_{key}": value for key, value in scores.items()})
    return metrics
