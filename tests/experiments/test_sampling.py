import json

import numpy as np

from vaekit.experiments import run_experiment


def _total_variation(image: np.ndarray) -> float:
    """Mean |difference| of horizontally and vertically adjacent pixels, written independently of the module."""
    differences = [np.abs(np.diff(image, axis=1)).ravel(), np.abs(np.diff(image, axis=0)).ravel()]
    return float(np.concatenate(differences).mean())


def test_samples_are_means_plus_likelihood_noise(shared_data, tmp_path):
    report = run_experiment("sampling", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["all_claims_held"], report.checks
    sigma = results["settings"]["gaussian_scale"]
    for name in ("bernoulli", "gaussian"):
        measured = results["results"][name]
        example = {key: np.array(value) for key, value in measured["example"].items() if key != "num_repeats"}
        mean, sample = example["mean"].reshape(28, 28), example["sample"].reshape(28, 28)
        # TV recomputed from the recorded pixels of one mean and one sample of the same z
        assert abs(_total_variation(mean) - measured["example"]["tv_mean"]) < 1e-5
        assert abs(_total_variation(sample) - measured["example"]["tv_sample"]) < 1e-5
        # the variance check's first z is the first prior draw: same mean image
        np.testing.assert_allclose(example["fixed_code_mean"], example["mean"], atol=1e-5)
        empirical, mean_pixels = example["fixed_code_empirical_variance"], example["mean"]
        if name == "bernoulli":
            assert set(np.unique(sample)) <= {0.0, 1.0}
            variance = mean_pixels * (1 - mean_pixels)                         # p(1 − p), recomputed here
            # the number of ones in one sample is a sum of independent Bernoulli(p_i): within 4 sd of Σ p_i
            assert abs(sample.sum() - mean_pixels.sum()) < 4 * np.sqrt(variance.sum())
        else:
            variance = np.full(784, sigma ** 2)
            np.testing.assert_allclose(example["fixed_code_variance"], variance, rtol=1e-5)
            noise = (example["sample"] - mean_pixels) / sigma                   # should be ε ~ N(0, 1)
            assert abs(noise.mean()) < 4 / np.sqrt(784) and abs(noise.std() - 1) < 4 / np.sqrt(2 * 784)
            assert measured["sample_range"][0] < 0 < 1 < measured["sample_range"][1]   # unclamped mean + σε
        assert np.abs(empirical - variance).sum() / variance.sum() < 0.05
        assert measured["tv_samples"] > measured["tv_means"]
    assert results["results"]["bernoulli"]["samples_binary"]
    figures = {"samples_bernoulli.png", "samples_gaussian.png", "variance_check.png"}
    assert figures <= {p.name for p in tmp_path.iterdir()}
