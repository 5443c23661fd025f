import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from vaekit.baselines import LogisticPCA

N, D, K = 400, 60, 3


def cross_entropy(x, probabilities):
    """Σ_d −x log p − (1 − x) log(1 − p), averaged over rows; p clipped to [1e-3, 1 − 1e-3]."""
    p = np.clip(probabilities, 1e-3, 1 - 1e-3)
    return float(-(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(1).mean())


@pytest.fixture
def rank_k_model():
    """Bernoulli means P = σ(1bᵀ + A Vᵀ) of an exact rank-K logistic model, and binary draws X ~ P."""
    rng = np.random.default_rng(0)
    scores, loadings, bias = rng.normal(0, 1.5, (N, K)), rng.normal(0, 1, (D, K)), rng.normal(-1, 1, D)
    means = 1 / (1 + np.exp(-(bias + scores @ loadings.T)))
    return means, (rng.random((N, D)) < means).astype(np.float32)


def test_recovers_the_means_of_an_exact_rank_k_model(rank_k_model):
    means, _ = rank_k_model
    model = LogisticPCA(K, max_iter=500, random_state=0)
    reconstruction = model.inverse_transform(model.fit_transform(means))
    assert np.abs(reconstruction - means).max() < 0.005
    # the cross-entropy is minimal (= the entropy of Bernoulli(P)) at the generating parameters
    assert cross_entropy(means, reconstruction) == pytest.approx(cross_entropy(means, means), abs=1e-3)
    pca = PCA(K).fit(means)
    assert cross_entropy(means, pca.inverse_transform(pca.transform(means))) > cross_entropy(means, means) + 0.1


def test_binary_data_fit_is_at_least_as_good_as_the_generating_parameters(rank_k_model):
    means, binary = rank_k_model
    model = LogisticPCA(K, max_iter=500, random_state=0)
    fitted = cross_entropy(binary, model.inverse_transform(model.fit_transform(binary)))
    generating = cross_entropy(binary, means)
    # the maximum-likelihood fit beats the truth on its own data, by the few parameters' worth of overfitting
    assert 0.85 * generating < fitted <= generating
    pca = PCA(K).fit(binary)
    assert cross_entropy(binary, pca.inverse_transform(pca.transform(binary))) > generating > fitted
    # loss_curve_ is the same cross-entropy, and it went down
    assert model.loss_curve_[-1] == pytest.approx(fitted, rel=1e-3)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert np.all(np.diff(model.loss_curve_[-100:]) < 1e-3)


def test_transform_solves_for_the_scores_of_new_rows(rank_k_model):
    means, binary = rank_k_model
    model = LogisticPCA(K, max_iter=500, random_state=0).fit(binary[:300])
    # on the fitted rows, transform finds the fit's optimum again (the problem in A is convex)
    refit = model.inverse_transform(model.transform(binary[:300]))
    assert cross_entropy(binary[:300], refit) == pytest.approx(model.loss_curve_[-1], rel=0.01)
    # on held-out rows of the same model, the learned loadings explain them almost as well as the truth
    held_out = model.inverse_transform(model.transform(binary[300:]))
    assert cross_entropy(binary[300:], held_out) < 1.02 * cross_entropy(binary[300:], means[300:])


def test_shapes_and_range(rank_k_model):
    means, _ = rank_k_model
    model = LogisticPCA(K, max_iter=20, random_state=0)
    scores = model.fit_transform(means)
    assert scores.shape == (N, K) and model.components_.shape == (K, D) and model.bias_.shape == (D,)
    assert len(model.loss_curve_) == 20 and model.n_features_in_ == D
    assert model.transform(means[:7]).shape == (7, K)
    reconstruction = model.inverse_transform(scores)
    assert reconstruction.shape == (N, D) and reconstruction.min() > 0 and reconstruction.max() < 1


@pytest.mark.parametrize("bad, message", [
    (np.full((5, 4), 1.5), r"values in \[0, 1\]"),
    (np.full((5, 4), np.nan), "NaN"),
    (np.zeros(4), "2-D"),
    (np.zeros((0, 4)), "non-empty"),
])
def test_rejects_bad_data(bad, message):
    with pytest.raises(ValueError, match=message):
        LogisticPCA(2).fit(bad)


def test_rejects_bad_parameters_and_misuse():
    data = np.random.default_rng(0).random((10, 4))
    with pytest.raises(ValueError, match="n_components must be between 1 and"):
        LogisticPCA(5).fit(data)
    with pytest.raises(ValueError, match="max_iter"):
        LogisticPCA(2, max_iter=0).fit(data)
    with pytest.raises(ValueError, match="lr"):
        LogisticPCA(2, lr=-1.0).fit(data)
    with pytest.raises(NotFittedError):
        LogisticPCA(2).transform(data)
    model = LogisticPCA(2, max_iter=5).fit(data)
    with pytest.raises(ValueError, match="3 features, but LogisticPCA was fitted with 4"):
        model.transform(data[:, :3])
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        model.inverse_transform(np.zeros((3, 3)))
