import math

import numpy as np
import pytest

from vaekit.data.dsprites import DSprites
from vaekit.data.synthetic_factors import SyntheticFactors
from vaekit.evaluate.disentanglement import (beta_vae_score, compute_all, dci, factor_vae_score, mig,
                                             mig_from_codes, sap_score)
from vaekit.evaluate.disentanglement.dci import completeness, disentanglement
from vaekit.evaluate.disentanglement.sap import sap_from_matrix
from vaekit.evaluate.disentanglement.utils import histogram_discretize, sample_codes_and_factors

DATA = SyntheticFactors((3, 4, 5))
SMALL = {"beta_vae": dict(batch_size=16, num_train=300, num_eval=200),
         "factor_vae": dict(batch_size=16, num_train=300, num_eval=200, num_variance_estimate=1000),
         "mig": dict(num_train=2000), "sap": dict(num_train=1000, num_test=500),
         "dci": dict(num_train=500, num_test=300)}


def perfect(data, noise=0.01, seed=1):
    """Codes = the factor values (read back from the observations) plus small Gaussian noise."""
    rng = np.random.default_rng(seed)
    return lambda x: data.recover_values(x) + noise * rng.normal(size=(len(x), data.num_factors))


def random_codes(dimensions=3, seed=2):
    rng = np.random.default_rng(seed)
    return lambda x: rng.normal(size=(len(x), dimensions))


def transformed(data, matrix):
    encode = perfect(data)
    return lambda x: encode(x) @ matrix.T


PERMUTED = np.array([[0, 0, 3.0], [-0.5, 0, 0], [0, -2.0, 0]])  # z = (3 v₂, −v₀/2, −2 v₁)
ROTATED = np.array([[math.cos(math.pi / 4), -math.sin(math.pi / 4), 0],
                    [math.sin(math.pi / 4), math.cos(math.pi / 4), 0], [0, 0, 1]])  # mixes v₀ and v₁


def mutual_information(joint):
    """I = Σ p(a, b) ln p(a, b) / (p(a) p(b)) from a table of counts."""
    p = joint / joint.sum()
    outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    return float(np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / outer), 0)))


def test_beta_vae_score():
    scores = {name: beta_vae_score(DATA, rep, 0, **SMALL["beta_vae"])["eval_accuracy"] for name, rep in
              [("perfect", perfect(DATA)), ("permuted", transformed(DATA, PERMUTED)), ("random", random_codes())]}
    assert scores["perfect"] >= 0.99 and scores["permuted"] >= 0.99
    assert abs(scores["random"] - 1 / 3) < 0.12  # chance: 1/K


def test_factor_vae_score_prunes_collapsed_dimensions():
    score = factor_vae_score(DATA, perfect(DATA), 0, **SMALL["factor_vae"])
    assert score["eval_accuracy"] >= 0.99 and score["train_accuracy"] >= 0.99 and score["num_active_dims"] == 3
    encode = perfect(DATA)
    with_dead = lambda x: np.concatenate([encode(x), np.full((len(x), 2), 7.0)], axis=1)  # std 0 < 0.05
    score = factor_vae_score(DATA, with_dead, 0, **SMALL["factor_vae"])
    assert score["eval_accuracy"] >= 0.99 and score["num_active_dims"] == 3
    assert factor_vae_score(DATA, transformed(DATA, PERMUTED), 0, **SMALL["factor_vae"])["eval_accuracy"] >= 0.99
    assert abs(factor_vae_score(DATA, random_codes(), 0, **SMALL["factor_vae"])["eval_accuracy"] - 1 / 3) < 0.12
    collapsed = factor_vae_score(DATA, lambda x: np.zeros((len(x), 3)), 0, **SMALL["factor_vae"])
    assert collapsed == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


def test_mig_orders_perfect_permuted_rotated_random():
    score = {name: mig(DATA, rep, 0, **SMALL["mig"])["mig"] for name, rep in
             [("perfect", perfect(DATA)), ("permuted", transformed(DATA, PERMUTED)),
              ("rotated", transformed(DATA, ROTATED)), ("random", random_codes())]}
    assert score["perfect"] > 0.95 and score["permuted"] > 0.95
    assert score["random"] < 0.05
    assert score["rotated"] < score["perfect"] - 0.3


def test_mig_matches_the_closed_form_on_a_tiny_discrete_example():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    w = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    z1 = np.array([0, 0, 0, 1, 1, 1, 1, 1.0])
    z2 = w % 2.0
    joint = lambda a, b: np.histogram2d(a, b, bins=[np.unique(a).size, np.unique(b).size])[0]
    i_z1_y = mutual_information(joint(z1, y))
    assert i_z1_y == pytest.approx(3 / 8 * math.log(2) + 1 / 8 * math.log(2 / 5) + 1 / 2 * math.log(8 / 5))
    assert mutual_information(joint(z2, y)) == pytest.approx(0, abs=1e-12)
    assert mutual_information(joint(z2, w)) == pytest.approx(math.log(2))
    gap_y = i_z1_y / math.log(2)                                             # H(y) = ln 2
    gap_w = (math.log(2) - mutual_information(joint(z1, w))) / math.log(4)   # H(w) = ln 4
    codes, factors = np.stack([z1, z2], axis=1), np.stack([y, w], axis=1)
    assert mig_from_codes(codes, factors) == pytest.approx((gap_y + gap_w) / 2)
    assert histogram_discretize(codes).min() == 1 and histogram_discretize(codes).max() == 20
    with pytest.raises(ValueError, match="constant"):
        mig_from_codes(codes, np.stack([y, np.zeros(8)], axis=1))


def test_sap_score():
    binary = SyntheticFactors((2, 2, 2))
    # the own code classifies its factor exactly; any other code is at chance, 1/2: SAP = 1 − 1/2
    assert sap_score(binary, perfect(binary), 0, **SMALL["sap"])["sap"] == pytest.approx(0.5, abs=0.05)
    flipped = transformed(binary, np.array([[0, -1.0, 0], [0, 0, 1], [-1, 0, 0]]))
    assert sap_score(binary, flipped, 0, **SMALL["sap"])["sap"] == pytest.approx(0.5, abs=0.05)
    assert sap_score(binary, random_codes(), 0, **SMALL["sap"])["sap"] < 0.05
    # continuous factors: S is the R² of a linear fit, 1 for the own code and ~0 for the others
    assert sap_score(DATA, perfect(DATA), 0, continuous_factors=True, **SMALL["sap"])["sap"] > 0.95
    assert sap_from_matrix(np.array([[1, 0.2], [0.5, 0.9], [0.3, 0.1]])) == pytest.approx((0.5 + 0.7) / 2)


def test_dci_formulas_on_importance_matrices():
    assert disentanglement(np.eye(3)) == pytest.approx(1) and completeness(np.eye(3)) == pytest.approx(1)
    assert disentanglement(np.ones((3, 3))) == pytest.approx(0, abs=1e-9)
    assert completeness(np.ones((3, 3))) == pytest.approx(0, abs=1e-9)
    shared = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # code 0 serves two factors equally
    assert disentanglement(shared) == pytest.approx(2 / 3 * (1 - math.log(2) / math.log(3)) + 1 / 3, abs=1e-8)
    assert completeness(shared) == pytest.approx(1, abs=1e-8)


@pytest.mark.parametrize("method", ["gradient_boosting", "random_forest"])
def test_dci(method):
    good = dci(DATA, perfect(DATA), 0, method=method, **SMALL["dci"])
    assert good["disentanglement"] > 0.95 and good["completeness"] > 0.95 and good["informativeness_test"] > 0.99
    permuted = dci(DATA, transformed(DATA, PERMUTED), 0, method=method, **SMALL["dci"])
    assert permuted["disentanglement"] > 0.95 and permuted["completeness"] > 0.95
    assert dci(DATA, transformed(DATA, ROTATED), 0, method=method, **SMALL["dci"])["disentanglement"] < 0.8
    noise = dci(DATA, random_codes(), 0, method=method, **SMALL["dci"])
    assert noise["disentanglement"] < 0.15 and noise["informativeness_test"] < 0.45  # chance ≈ 0.26
    with pytest.raises(ValueError, match="method"):
        dci(DATA, perfect(DATA), 0, method="lasso")


def test_compute_all_and_sampling_chunks():
    scores = compute_all(DATA, perfect(DATA), random_state=0, num_train=300, num_eval=200, batch_size=16,
                         num_variance_estimate=500, dci_method="random_forest")
    assert set(scores) == {"beta_vae", "factor_vae", "mig", "sap", "dci_disentanglement", "dci_completeness",
                           "dci_informativeness"}
    assert min(scores[name] for name in scores if name != "sap") > 0.9
    calls = []
    encode = perfect(DATA)
    codes, factors = sample_codes_and_factors(DATA, lambda x: calls.append(len(x)) or encode(x), 600,
                                              np.random.default_rng(0), batch_size=256)
    assert calls == [256, 256, 88] and codes.shape == (600, 3) and factors.shape == (600, 3)
    np.testing.assert_allclose(codes, DATA.factor_values(factors), atol=0.05)


def test_factor_vae_on_dsprites_finds_position_codes():
    """Image moments (centroid x, centroid y, area) as codes: the centroid dimensions track posX and
    posY, the area tracks scale and shape, nothing tracks orientation. Each dimension predicts one
    factor, so at most the votes of three of the five (equally likely) factors are right: ≤ 3/5."""
    data = DSprites.procedural()
    pixels = np.arange(64) + 0.5

    def moments(x):
        images = x[:, 0].numpy()
        area = images.sum((1, 2))
        return np.stack([(images.sum(1) * pixels).sum(1) / area, (images.sum(2) * pixels).sum(1) / area, area], 1)

    score = factor_vae_score(data, moments, 0, batch_size=16, num_train=200, num_eval=200,
                             num_variance_estimate=500)
    assert 0.45 < score["eval_accuracy"] < 0.6 + 0.1 and score["num_active_dims"] == 3
