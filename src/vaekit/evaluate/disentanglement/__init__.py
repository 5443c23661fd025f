"""Supervised disentanglement metrics on ground-truth data (definitions and defaults of
disentanglement_lib, Locatello et al. 2019): BetaVAE and FactorVAE scores, MIG, SAP, DCI.

    from vaekit.evaluate.disentanglement import compute_all, model_representation
    scores = compute_all(DSprites.procedural(), model_representation(model), random_state=0)
"""
from __future__ import annotations

import numpy as np

from vaekit.evaluate.disentanglement.beta_vae import beta_vae_score
from vaekit.evaluate.disentanglement.dci import dci
from vaekit.evaluate.disentanglement.factor_vae import factor_vae_score
from vaekit.evaluate.disentanglement.mig import mig, mig_from_codes
from vaekit.evaluate.disentanglement.sap import sap_score
from vaekit.evaluate.disentanglement.utils import (GroundTruthData, RepresentationFunction, model_representation,
                                                   sample_codes_and_factors)

__all__ = ["beta_vae_score", "factor_vae_score", "mig", "mig_from_codes", "sap_score", "dci", "compute_all",
           "model_representation", "sample_codes_and_factors", "GroundTruthData"]


def compute_all(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
                random_state: int = 0, num_train: int = 10_000, num_eval: int = 5_000, batch_size: int = 64,
                num_variance_estimate: int = 10_000, dci_method: str = "gradient_boosting",
                votes_train: int | None = None, votes_eval: int | None = None, dci_train: int | None = None) -> dict:
    """Every metric with disentanglement_lib's defaults (sizes overridable), each from its own
    random stream spawned from `random_state`: {"beta_vae", "factor_vae", "mig", "sap",
    "dci_disentanglement", "dci_completeness", "dci_informativeness"} (eval/test values).

    `num_train`/`num_eval` are the points of MIG, SAP and DCI; `votes_train`/`votes_eval` (default:
    the same numbers) the votes of the BetaVAE and FactorVAE scores, each of which encodes
    `batch_size` (FactorVAE) or 2·`batch_size` (BetaVAE) observations; `dci_train` (default
    `num_train`) the training points of DCI, whose classifiers cost most."""
    votes_train = num_train if votes_train is None else votes_train
    votes_eval = num_eval if votes_eval is None else votes_eval
    streams = [np.random.default_rng(seed) for seed in np.random.SeedSequence(random_state).spawn(5)]
    beta_vae = beta_vae_score(ground_truth, representation_function, streams[0], batch_size, votes_train, votes_eval)
    factor_vae = factor_vae_score(ground_truth, representation_function, streams[1], batch_size, votes_train,
                                  votes_eval, num_variance_estimate)
    dci_scores = dci(ground_truth, representation_function, streams[4], num_train if dci_train is None else dci_train,
                     num_eval, dci_method)
    return {
        "beta_vae": beta_vae["eval_accuracy"],
        "factor_vae": factor_vae["eval_accuracy"],
        "mig": mig(ground_truth, representation_function, streams[2], num_train)["mig"],
        "sap": sap_score(ground_truth, representation_function, streams[3], num_train, num_eval)["sap"],
        "dci_disentanglement": dci_scores["disentanglement"],
        "dci_completeness": dci_scores["completeness"],
        "dci_informativeness": dci_scores["informativeness_test"],
    }
