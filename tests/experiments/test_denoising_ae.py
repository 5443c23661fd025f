import json

import numpy as np
import pytest
import torch
from scipy.ndimage import median_filter

from vaekit.data import corrupt
from vaekit.experiments import run_experiment
from vaekit.experiments.common import dataset
from vaekit.experiments.denoising_ae import noise_seed, psnr


def test_psnr_on_known_cases():
    images = np.random.default_rng(0).random((3, 1, 28, 28))
    assert psnr(images + 0.1, images) == pytest.approx(20.0)             # MSE 0.01
    # the mean over images of per-image PSNRs: MSE 0.01 and 0.0001 give 20 and 40 dB
    assert psnr(images[:2] + np.array([0.1, 0.01])[:, None, None, None], images[:2]) == pytest.approx(30.0)


def test_noise_seeds_differ_across_types_and_levels():
    seeds = [noise_seed(0, kind, level) for kind in ("gaussian", "masking", "salt-and-pepper")
             for level in (0.1, 0.2, 0.25, 0.3, 0.4, 0.5)]
    assert len(set(seeds)) == len(seeds)


def test_denoising_autoencoder_beats_noise_and_median_filter(shared_data, tmp_path):
    report = run_experiment("denoising-ae", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["all_claims_held"], report.checks
    settings = results["settings"]
    clean = dataset("mnist", "test", settings["test_size"], shared_data, settings["seed"]).images
    assert len(results["results"]) == 3
    for key, scores in results["results"].items():
        assert scores["dae"] > max(scores["noisy"], scores["median_filter"])
        # the same seeded corruption, PSNR recomputed with numpy: the baselines saw the DAE's test images
        kind, level = key.rsplit("_", 1)
        noisy = corrupt(clean, kind, float(level), torch.Generator().manual_seed(scores["noise_seed"])).numpy()
        reference = clean.numpy()
        mse = ((noisy - reference) ** 2).reshape(len(noisy), -1).mean(1)
        assert scores["noisy"] == pytest.approx(np.mean(10 * np.log10(1 / mse)), rel=1e-5)
        filtered = median_filter(noisy, size=(1, 1, 3, 3))
        assert scores["median_filter"] == pytest.approx(psnr(filtered, reference), rel=1e-5)
    # Gaussian noise of std σ, before clipping, has MSE σ²: clipping to [0, 1] only lowers it
    gaussian_key = next(key for key in results["results"] if key.startswith("gaussian"))
    sigma = float(gaussian_key.rsplit("_", 1)[1])
    assert results["results"][gaussian_key]["noisy"] > 10 * np.log10(1 / sigma ** 2)
    assert {"denoising.png", "psnr.png", "report.md"} <= {p.name for p in tmp_path.iterdir()}
