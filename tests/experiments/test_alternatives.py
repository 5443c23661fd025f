"""The alternatives experiment, --quick: every model trains from its preset, one table, one figure.

The quick models train for seconds, so which model wins is reported, not asserted, here; the
full run (docs/experiments/alternatives) checks the claims. What must hold at any budget is
asserted: the GAN has no likelihood, the flow's is exact and finite, the VAE's is a bound, the
test images score better than noise, and the table's numbers are the recorded ones.
"""
import json
import math

import pytest

from vaekit.experiments import run_experiment


def test_alternatives_quick_builds_the_table(shared_data, tmp_path):
    report = run_experiment("alternatives", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    models = results["models"]
    assert set(models) == {"vae", "flow", "gan"}
    assert "bits_per_dim" not in models["gan"]
    assert models["flow"]["kind"].startswith("exact") and models["vae"]["kind"].startswith("IS bound")
    for name in ("vae", "flow"):
        bits = models[name]["bits_per_dim"]
        assert math.isfinite(bits) and 0 < bits < 8           # 8 bits/dim: a uniform model of 256 levels
        assert models[name]["nll"] / (784 * math.log(2)) == pytest.approx(bits)
    quality = results["sample_quality"]
    assert {"test images", "VAE (discretized logistic): means", "VAE (discretized logistic): samples",
            "RealNVP flow: samples", "GAN (DCGAN): samples"} == set(quality)
    for scores in quality.values():
        assert scores["fd"] >= 0 and 0 <= scores["precision"] <= 1 and 0 <= scores["recall"] <= 1
    generated = [s["fd"] for name, s in quality.items() if name != "test images"]
    assert quality["test images"]["fd"] < min(generated)       # real digits beat seconds-old models
    assert len(report.checks) == 4
    assert (tmp_path / "samples.png").is_file() and (tmp_path / "runs" / "gan" / "checkpoint").is_dir()
