"""The tighter-bounds experiment, --quick: bounds ordered in k, estimators against quadrature.

The quick models train for seconds (KL ≈ 4 nats: q(z|x) is still close to p(z)), so the claims
that need a trained 50-d posterior (prior sampling far short of IS in 50-d; AIS from q beating
IS at equal chains) and AIS within 0.5 nats at 100 steps are reported, not asserted, here;
the full run (docs/experiments/tighter-bounds) checks them.
"""
import json
import math

import pytest

from vaekit.experiments import run_experiment


@pytest.fixture(scope="module")
def quick_results(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("tighter-bounds")
    report = run_experiment("tighter-bounds", out, quick=True, overrides=[f"data_root={shared_data}"])
    return json.loads((out / "results.json").read_text()), report, out


def _held(report, start: str) -> bool:
    matches = [check for check in report.checks if check["claim"].startswith(start)]
    assert matches, f"no check starting {start!r}"
    return all(check["held"] for check in matches)


def test_bounds_increase_with_k_for_every_model(quick_results):
    results, report, _ = quick_results
    for row, measured in results["results"]["bounds"].items():
        means = [measured["bounds"][k][0] for k in sorted(measured["bounds"], key=int)]
        assert means == sorted(means), (row, means)            # L_1 ≤ L_5 ≤ L_50 ≤ L_500, recomputed
        assert measured["gap"] == pytest.approx(means[-1] - means[0])
    assert _held(report, "VAE: L_1") and _held(report, "planar flow posterior, K=10: L_1")


def test_estimators_against_quadrature_on_the_2d_model(quick_results):
    results, report, out = quick_results
    curves = results["results"]["two_d"]["curves"]
    prior = {p["decoder_evaluations"]: p["mean_absolute_error"] for p in curves["prior sampling"]}
    importance = {p["decoder_evaluations"]: p["mean_absolute_error"] for p in curves["IS with q(z|x)"]}
    for k in set(prior) & set(importance):
        assert importance[k] < prior[k], k
    assert importance[max(importance)] < 0.3                   # IS with k = 100 near the exact log p(x)
    assert prior[10] > 1.0                                     # 10 prior draws miss the posterior
    annealed = [p["mean_absolute_error"] for p in curves["AIS (HMC, from the prior)"]]
    assert annealed[-1] < annealed[0]
    assert _held(report, "at equal k, IS") and _held(report, "AIS errs less")
    assert (out / "estimator_error.png").is_file()


def test_the_50d_estimators_are_all_reported(quick_results):
    results, report, _ = quick_results
    found = results["results"]["fifty_d"]
    names = [name for name in found if name != "test_images"]
    assert len(names) == 5 and all(math.isfinite(found[name]["mean_log_px"]) for name in names)
    assert found["IS with q(z|x), k = 500"]["mean_log_px"] >= found["IS with q(z|x), k = 4"]["mean_log_px"]
    claims = {check["claim"] for check in report.checks}
    assert any(claim.startswith("in 50 dimensions") for claim in claims)
    assert any(claim.startswith("AIS from q(z|x)") for claim in claims)
