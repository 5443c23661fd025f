import json
import math

import numpy as np
import pytest

from vaekit.experiments import run_experiment


def test_latent_interpolation_and_arithmetic(shared_data, tmp_path):
    report = run_experiment("interpolation", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["all_claims_held"], report.checks
    measured = results["results"]

    # the paths start and end at the codes; the recorded norms are those of the recorded codes' paths
    pairs = measured["pairs"]
    start, end, t = np.array(pairs["codes_start"]), np.array(pairs["codes_end"]), np.array(pairs["t"])[:, None, None]
    assert pairs["linear"]["endpoint_error"] == 0.0
    assert pairs["slerp"]["endpoint_error"] == 0.0
    linear = (1 - t) * start + t * end                                                   # (T, P, D)
    cosine = (start * end).sum(-1) / (np.linalg.norm(start, axis=-1) * np.linalg.norm(end, axis=-1))
    omega = np.arccos(cosine)[:, None]
    spherical = (np.sin((1 - t) * omega) * start + np.sin(t * omega) * end) / np.sin(omega)
    for method, path in (("linear", linear), ("slerp", spherical)):
        norms = np.array(pairs[method]["code_norms"])                                   # (P, T)
        np.testing.assert_allclose(norms, np.linalg.norm(path, axis=-1).T, rtol=1e-4)
        np.testing.assert_allclose(norms[:, [0, -1]], np.linalg.norm(np.stack([start, end], 1), axis=-1), rtol=1e-5)
        assert np.all(np.array(pairs[method]["max_step_change"]) < np.array(pairs[method]["endpoint_change"]))
    # slerp points are λ·(a point of the chord) with λ ≥ 1, so the chord comes closest to the origin
    slerp_norms = np.array(pairs["slerp"]["code_norms"])
    assert np.all(np.linalg.norm(linear, axis=-1).min(0) <= slerp_norms.min(1) + 1e-4)

    # prior pairs: E‖(z₀ + z₁)/2‖² = D/2 against ‖z‖² ≈ D, so the linear midpoint ratio is near √½
    prior = measured["prior_paths"]
    assert prior["linear"]["midpoint_norm_ratio"] == pytest.approx(math.sqrt(0.5), abs=0.03)
    assert prior["slerp"]["midpoint_norm_ratio"] == pytest.approx(1.0, abs=0.03)
    assert prior["linear"]["fraction_within_endpoint_norms"] < 0.05 < prior["slerp"]["fraction_within_endpoint_norms"]

    assert measured["classifier"]["test_accuracy"] > 0.9
    for pair in measured["arithmetic"].values():
        target = [key for key in pair if key.endswith("_after")][0]
        assert pair[target] > 0.5 > 0.1 > pair[target.replace("after", "reconstructions")]
        assert pair[target.replace("after", "originals")] < 0.1 and pair["count"] > 20
    thickness = measured["thickness"]
    assert thickness["mean_pixel_mass_thinner"] < thickness["mean_pixel_mass_reconstruction"] \
        < thickness["mean_pixel_mass_thicker"]
    assert {"interpolation_linear.png", "interpolation_slerp.png", "path_norms.png", "arithmetic.png",
            "thickness.png"} <= {p.name for p in tmp_path.iterdir()}
