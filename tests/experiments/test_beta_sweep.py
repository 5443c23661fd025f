import json

import pytest

from vaekit.experiments import run_experiment


def test_beta_trades_reconstruction_for_kl(shared_data, tmp_path):
    report = run_experiment("beta-sweep", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())
    held = {check["claim"]: check["held"] for check in results["checks"]}
    for claim in ("the reconstruction term −E_q log p(x|z) increases with β",
                  "KL(q(z|x) ‖ p(z)) decreases with β",
                  "the number of active units does not increase with β",
                  "ELBO ≤ IS estimate of log p(x) (the k-sample bound is tighter) for every β"):
        assert held[claim], report.checks
    betas = results["results"]["betas"]
    assert betas == [0.5, 1.0, 2.0, 4.0, 8.0]
    measured = [results["results"][f"beta_{beta:g}"] for beta in betas]
    for metrics in measured:
        assert metrics["num_examples"] == 500 and metrics["importance_samples"] == 100
        # the table's terms are those of one ELBO: ELBO = E_q log p(x|z) − KL, KL = Σ_d KL_d
        assert metrics["elbo"] == pytest.approx(-metrics["reconstruction_nll"] - metrics["kl"], abs=1e-3)
        assert sum(metrics["kl_per_dimension"]) == pytest.approx(metrics["kl"], rel=1e-4)
        assert metrics["active_units"] == sum(v >= 0.01 for v in metrics["posterior_mean_variance"])
        assert metrics["nll"] <= -metrics["elbo"]
    nll = [metrics["nll"] for metrics in measured]
    assert 70 < nll[1] < 150                               # a trained MNIST VAE, not a broken one
    assert results["results"]["best_nll_beta"] == betas[nll.index(min(nll))]
    assert [m["kl"] for m in measured] == sorted((m["kl"] for m in measured), reverse=True)
    assert {"tradeoff.png", "reconstructions_and_samples.png", "report.md"} <= {p.name for p in tmp_path.iterdir()}
