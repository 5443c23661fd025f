"""DCI: Disentanglement, Completeness and Informativeness (Eastwood & Williams 2018, "A Framework for
the Quantitative Evaluation of Disentangled Representations", ICLR, §2), as disentanglement_lib
computes it (`evaluation/metrics/dci.py`, `compute_dci`).

For each factor k a classifier predicts v_k from the whole code z; its feature importances give
column k of the importance matrix R (D × K), R_dk ≥ 0. With P_dk = R_dk / Σ_k' R_dk' and
P̃_dk = R_dk / Σ_d' R_d'k:

    disentanglement  D = Σ_d ρ_d (1 − H_K(P_d·)),   ρ_d = Σ_k R_dk / Σ R,
    completeness     C = Σ_k ρ̃_k (1 − H_D(P̃_·k)),  ρ̃_k = Σ_d R_dk / Σ R,

with H_K the entropy in base K (so 0 ≤ 1 − H ≤ 1); 1e-11 is added to R before normalising, as in
disentanglement_lib. Informativeness is the classifiers' mean accuracy (disentanglement_lib's
"informativeness", an accuracy, not the paper's prediction error).

Importances: `method="gradient_boosting"` (default, as disentanglement_lib:
`GradientBoostingClassifier()` with scikit-learn defaults, `feature_importances_`) or
`method="random_forest"` (`RandomForestClassifier(n_estimators=100, max_features=None)`, faster
for many classes; the paper's second choice; every split sees every code dimension, as in boosting,
since sampling √D of them would credit dimensions the forest was made to use). Defaults (disentanglement_lib `dci.gin`): num_train = 10,000, num_test = 5,000.
"""
from __future__ import annotations

import numpy as np
import scipy.stats
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from vaekit.evaluate.disentanglement.utils import (GroundTruthData, RepresentationFunction, as_generator,
                                                   sample_codes_and_factors, sklearn_seed)

METHODS = ("gradient_boosting", "random_forest")


def dci(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
        random_state: int | np.random.Generator | None = 0, num_train: int = 10_000, num_test: int = 5_000,
        method: str = "gradient_boosting", batch_size: int = 256) -> dict:
    """{"disentanglement", "completeness", "informativeness_train", "informativeness_test"}."""
    if method not in METHODS:
        raise ValueError(f"DCI importance method must be one of {METHODS}, got {method!r}")
    rng = as_generator(random_state)
    codes, factors = sample_codes_and_factors(ground_truth, representation_function, num_train, rng, batch_size)
    test_codes, test_factors = sample_codes_and_factors(ground_truth, representation_function, num_test, rng,
                                                        batch_size)
    importance, train_accuracy, test_accuracy = importance_matrix(codes, factors, test_codes, test_factors,
                                                                  method, sklearn_seed(rng))
    return {"disentanglement": disentanglement(importance), "completeness": completeness(importance),
            "informativeness_train": train_accuracy, "informativeness_test": test_accuracy}


def importance_matrix(codes: np.ndarray, factors: np.ndarray, test_codes: np.ndarray, test_factors: np.ndarray,
                      method: str = "gradient_boosting", seed: int = 0) -> tuple[np.ndarray, float, float]:
    """R (D, K) of |feature importances|, and the mean train and test accuracy over factors."""
    importance = np.zeros((codes.shape[1], factors.shape[1]))
    train_accuracy, test_accuracy = [], []
    for k in range(factors.shape[1]):
        if method == "gradient_boosting":
            model = GradientBoostingClassifier(random_state=seed)
        else:
            model = RandomForestClassifier(n_estimators=100, max_features=None, random_state=seed)
        model.fit(codes, factors[:, k])
        importance[:, k] = np.abs(model.feature_importances_)
        train_accuracy.append(np.mean(model.predict(codes) == factors[:, k]))
        test_accuracy.append(np.mean(model.predict(test_codes) == test_factors[:, k]))
    return importance, float(np.mean(train_accuracy)), float(np.mean(test_accuracy))


def disentanglement(importance: np.ndarray) -> float:
    """D = Σ_d ρ_d (1 − H_K(P_d·)) of an importance matrix (D, K)."""
    per_code = 1 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])    # (D,)
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_code * weights.sum(1) / weights.sum()))


def completeness(importance: np.ndarray) -> float:
    """C = Σ_k ρ̃_k (1 − H_D(P̃_·k)) of an importance matrix (D, K)."""
    per_factor = 1 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])    # (K,)
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_factor * weights.sum(0) / weights.sum()))
