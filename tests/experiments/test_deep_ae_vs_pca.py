import json

import numpy as np
import pytest

from vaekit.experiments import run_experiment
from vaekit.experiments.common import dataset
from vaekit.experiments.deep_ae_vs_pca import cross_entropy, svd_reconstruction


def test_metrics_on_known_cases():
    images = np.random.default_rng(0).random((5, 784))
    assert cross_entropy(np.full((5, 784), 0.5), images) == pytest.approx(784 * np.log(2))
    binary = (images > 0.5).astype(float)
    assert cross_entropy(binary, binary) == pytest.approx(-784 * np.log(1 - 1e-3))   # clipped to [1e-3, 1 − 1e-3]
    # all 784 components reconstruct exactly
    assert np.allclose(svd_reconstruction(images, images[:2], 784), images[:2])


def test_deep_autoencoder_and_logistic_pca_beat_pca(shared_data, tmp_path):
    report = run_experiment("deep-ae-vs-pca", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())
    held = {check["claim"].split(" (")[0]: check["held"] for check in report.checks}
    assert held["squared error: deep AE < PCA"] and held["squared error: logistic PCA < PCA"], report.checks
    assert held["PCA's squared error equals that of a numpy SVD reconstruction of the same images"]
    errors, entropies = results["results"]["squared_error"], results["results"]["cross_entropy"]
    # H&S's deep AE < logistic PCA is measured, not assumed: the check reports what the numbers say
    assert held["squared error: deep AE < logistic PCA"] == (errors["deep AE"] < errors["logistic PCA"])
    # logistic PCA is fitted on the cross-entropy: it beats PCA on that metric too
    assert entropies["logistic PCA"] < entropies["PCA"]

    # PCA independently: eigenvectors of the training covariance, on the same train/test subsets
    settings = results["settings"]
    x_train = dataset("mnist", "train", settings["train_size"], shared_data).images.flatten(1).double().numpy()
    x_test = dataset("mnist", "test", settings["test_size"], shared_data).images.flatten(1).double().numpy()
    mean = x_train.mean(0)
    directions = np.linalg.eigh(np.cov(x_train, rowvar=False))[1][:, -30:]
    pca_error = (((x_test - mean) @ directions @ directions.T + mean - x_test) ** 2).sum(1).mean()
    assert errors["PCA"] == pytest.approx(pca_error, rel=1e-3)
    assert results["results"]["svd_pca_squared_error"] == pytest.approx(pca_error, rel=1e-3)
    # the mean image (0 components) is far worse than 30 components: the errors are per image, summed over pixels
    assert ((x_test - mean) ** 2).sum(1).mean() > 3 * pca_error
    assert {"reconstructions.png", "errors.png", "report.md"} <= {p.name for p in tmp_path.iterdir()}
    assert "13.87" in (tmp_path / "report.md").read_text()
