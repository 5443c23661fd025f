"""BetaVAE score (Higgins et al. 2017, "β-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", ICLR, §3 and Appendix A.4), as disentanglement_lib computes it
(`evaluation/metrics/beta_vae.py`, `compute_beta_vae_sklearn`).

One training point: draw a factor index k uniformly; draw two batches of L factor vectors
v¹_l, v²_l independently, then set v²_{l,k} = v¹_{l,k} (factor k shared within each pair);
encode both, z¹_l = r(x(v¹_l)), z²_l = r(x(v²_l)); the feature is the mean absolute difference

    f = (1/L) Σ_l |z¹_l − z²_l|  ∈ R^D,   labelled k.

A linear classifier (scikit-learn LogisticRegression with default settings) learns k from f on
num_train points; the score is its accuracy on num_eval fresh points. A disentangled code keeps
one dimension still when its factor is shared, so the classifier is exact (score 1); a code
unrelated to the factors gives chance, 1/K.

Defaults (disentanglement_lib `beta_vae_sklearn.gin`): L = batch_size = 64, num_train = 10,000,
num_eval = 5,000.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from vaekit.evaluate.disentanglement.utils import (GroundTruthData, RepresentationFunction, as_generator,
                                                   represent, sklearn_seed)


def beta_vae_score(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
                   random_state: int | np.random.Generator | None = 0, batch_size: int = 64,
                   num_train: int = 10_000, num_eval: int = 5_000, chunk_points: int = 16) -> dict:
    """{"train_accuracy", "eval_accuracy"} of the BetaVAE classifier; `chunk_points` training points
    (2·chunk_points·batch_size observations) are encoded together."""
    rng = as_generator(random_state)
    train_features, train_labels = _features(ground_truth, representation_function, rng, batch_size, num_train,
                                             chunk_points)
    model = LogisticRegression(random_state=sklearn_seed(rng))
    model.fit(train_features, train_labels)
    eval_features, eval_labels = _features(ground_truth, representation_function, rng, batch_size, num_eval,
                                           chunk_points)
    return {"train_accuracy": float(model.score(train_features, train_labels)),
            "eval_accuracy": float(model.score(eval_features, eval_labels))}


def _features(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
              rng: np.random.Generator, batch_size: int, num_points: int,
              chunk_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (num_points, D) and labels (num_points,) of the BetaVAE classifier."""
    num_factors = len(ground_truth.factor_sizes)
    features, labels = [], []
    for start in range(0, num_points, chunk_points):
        count = min(chunk_points, num_points - start)
        fixed = rng.integers(num_factors, size=count)                                    # (P,)
        first = ground_truth.sample_factors(count * batch_size, rng)                     # (P·L, K)
        second = ground_truth.sample_factors(count * batch_size, rng)
        rows = np.arange(count * batch_size)
        shared = np.repeat(fixed, batch_size)                                            # (P·L,)
        second[rows, shared] = first[rows, shared]
        codes = [represent(representation_function, ground_truth.sample_observations_from_factors(factors, rng))
                 for factors in (first, second)]
        difference = np.abs(codes[0] - codes[1]).reshape(count, batch_size, -1)          # (P, L, D)
        features.append(difference.mean(1))
        labels.append(fixed)
    return np.concatenate(features), np.concatenate(labels)
