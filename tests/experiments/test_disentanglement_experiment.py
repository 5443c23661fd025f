import json
import math

from vaekit.data.dsprites import DSprites
from vaekit.experiments import run_experiment


def test_disentanglement_quick(shared_data, tmp_path):
    report = run_experiment("disentanglement", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())
    settings, measured = results["settings"], results["results"]
    checks = results["checks"]
    models = measured["models"]
    assert list(models) == ["VAE", "β-VAE β=8", "β-TCVAE β=6", "FactorVAE γ=40"]

    # the metric pipeline is calibrated on dSprites itself: exact factors near the MIG cap of a
    # 20-bin histogram, random codes at chance (1/5 for the FactorVAE majority vote)
    sizes = DSprites.procedural().factor_sizes
    cap = sum(min(1.0, math.log(20) / math.log(size)) for size in sizes) / len(sizes)
    truth, noise = measured["calibration"]["ground-truth factors"], measured["calibration"]["random codes"]
    assert 0.8 < truth["mig"] <= cap + 0.02 and truth["factor_vae"] > 0.95 and truth["beta_vae"] > 0.95
    assert noise["mig"] < 0.05 and abs(noise["factor_vae"] - 1 / 5) < 0.15
    assert truth["dci_disentanglement"] > 0.9 and noise["dci_disentanglement"] < 0.2
    assert checks[0]["held"] and checks[1]["held"], report.checks

    # verdicts state what the recorded numbers say
    vae, strong = models["VAE"], models["β-VAE β=8"]
    assert checks[2]["held"] == (vae["kl"] > strong["kl"]) and checks[2]["held"]
    tcvae, factor = models["β-TCVAE β=6"], models["FactorVAE γ=40"]
    expected = [tcvae["total_correlation"] < vae["total_correlation"], tcvae["mig"] > vae["mig"],
                factor["total_correlation"] < vae["total_correlation"], factor["mig"] > vae["mig"]]
    assert [check["held"] for check in checks[3:]] == expected
    for model in models.values():
        assert math.isclose(sum(model["kl_per_dimension"]), model["kl"], rel_tol=1e-4)
        assert 0 <= model["active_units"] <= settings["latent_dim"]
        assert all(0 <= model[key] <= 1 for key in ("mig", "factor_vae", "beta_vae", "sap", "dci_disentanglement"))
    names = {path.name for path in tmp_path.iterdir()}
    assert {"kl_per_dimension.png", "metrics_vs_beta.png", "report.md"} <= names
    assert len([name for name in names if name.startswith("traversals_")]) == 4
