"""SAP, the Separated Attribute Predictability score (Kumar, Sattigeri & Balakrishnan 2018,
"Variational Inference of Disentangled Latent Concepts from Unlabeled Observations", ICLR, §3),
as disentanglement_lib computes it (`evaluation/metrics/sap_score.py`, `compute_sap`).

Score matrix S (D × K): for discrete factors, S_dk is the test accuracy of a classifier of
factor k from the single code dimension z_d: scikit-learn `LinearSVC(C=0.01,
class_weight="balanced")`, trained on num_train points and scored (plain accuracy) on num_test
others. For continuous factors, S_dk = Cov(z_d, v_k)² / (Var z_d · Var v_k), the R² of a linear
fit (0 where Var z_d ≤ 1e-12). Then

    SAP = (1/K) Σ_k (largest S_dk − second largest S_dk over d).

Defaults (disentanglement_lib `sap_score.gin`): num_train = 10,000, num_test = 5,000, discrete
factors. The strong regularisation C = 0.01 makes S depend on the scale of the codes.
"""
from __future__ import annotations

import numpy as np
from sklearn.svm import LinearSVC

from vaekit.evaluate.disentanglement.utils import (GroundTruthData, RepresentationFunction, as_generator,
                                                   sample_codes_and_factors, sklearn_seed)


def sap_score(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
              random_state: int | np.random.Generator | None = 0, num_train: int = 10_000,
              num_test: int = 5_000, continuous_factors: bool = False, batch_size: int = 256) -> dict:
    """{"sap": SAP score}."""
    rng = as_generator(random_state)
    codes, factors = sample_codes_and_factors(ground_truth, representation_function, num_train, rng, batch_size)
    test_codes, test_factors = sample_codes_and_factors(ground_truth, representation_function, num_test, rng,
                                                        batch_size)
    matrix = sap_score_matrix(codes, factors, test_codes, test_factors, continuous_factors, sklearn_seed(rng))
    return {"sap": sap_from_matrix(matrix)}


def sap_score_matrix(codes: np.ndarray, factors: np.ndarray, test_codes: np.ndarray, test_factors: np.ndarray,
                     continuous_factors: bool = False, seed: int = 0) -> np.ndarray:
    """S (D, K): accuracy of a 1-D linear SVM (discrete factors) or R² (continuous factors)."""
    matrix = np.zeros((codes.shape[1], factors.shape[1]))
    for d, code in enumerate(codes.T):
        for k, factor in enumerate(factors.T):
            if continuous_factors:
                covariance = np.cov(code, factor, ddof=1)
                if covariance[0, 0] > 1e-12:
                    matrix[d, k] = covariance[0, 1] ** 2 / (covariance[0, 0] * covariance[1, 1])
            else:
                classifier = LinearSVC(C=0.01, class_weight="balanced", random_state=seed)
                classifier.fit(code[:, None], factor)
                matrix[d, k] = np.mean(classifier.predict(test_codes[:, d, None]) == test_factors[:, k])
    return matrix


def sap_from_matrix(matrix: np.ndarray) -> float:
    """Mean over factors (columns) of the gap between the two largest entries."""
    ordered = np.sort(matrix, axis=0)
    return float(np.mean(ordered[-1] - ordered[-2]))
