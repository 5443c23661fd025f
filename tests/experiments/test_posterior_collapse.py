import json

from vaekit.experiments import run_experiment


def test_plain_sentence_vae_collapses_and_free_bits_does_not(shared_data, tmp_path):
    """A small, seeded version: runs (a) plain and (e) free bits on a PTB slice, and a tiny PixelCNN pair."""
    report = run_experiment("posterior-collapse", tmp_path, quick=True, overrides=[
        f"data_root={shared_data}", "runs=[a, e]", "language_model=false"])
    results = json.loads((tmp_path / "results.json").read_text())
    text, curves = results["results"]["text"], results["results"]["curves"]
    plain, free_bits = text["a: plain"], text["e: free bits"]
    assert plain["kl"] < 0.5 and plain["active_units"] == 0 and abs(plain["mutual_information"]) < 0.2
    assert free_bits["active_units"] >= 3 and free_bits["mutual_information"] > 0.3 and free_bits["kl"] > 1
    assert results["checks"][0]["held"], report.checks
    # the ELBO bounds the importance-sampled log-likelihood, and a collapsed VAE has L_k ≈ ELBO
    for run in (plain, free_bits):
        assert -run["nll"] >= run["elbo"] - 0.5
        assert run["kl"] == sum(run["kl_per_dimension"]) or abs(run["kl"] - sum(run["kl_per_dimension"])) < 0.05
    assert abs(-plain["nll"] - plain["elbo"]) < 1.0
    # the curves: one row per epoch with the diagnostics, the plain run's KL ends near 0
    assert [len(rows) for rows in curves.values()] == [8, 8]
    assert curves["a: plain"][-1]["valid_kl"] < 0.5 < curves["e: free bits"][-1]["valid_kl"]
    images = results["results"]["images"]
    assert len(images) == 2 and all(m["nll"] > 0 and m["kl"] >= 0 for m in images.values())
    assert {"collapse_curves.png", "report.md"} <= {p.name for p in tmp_path.iterdir()}
