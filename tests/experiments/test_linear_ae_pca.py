import json

from html_checks import assert_self_contained
from vaekit.experiments import run_experiment


def test_linear_autoencoder_spans_the_pca_subspace(shared_data, tmp_path):
    report = run_experiment("linear-ae-pca", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["all_claims_held"], report.checks
    for size in (2, 10):
        measured = results["results"][f"M{size}"]
        assert measured["largest_angle_degrees"] < 5.0
        assert abs(measured["ae_test_squared_error"] / measured["pca_test_squared_error"] - 1) < 0.01
    # the PCA side is scikit-learn's: its 10-component error on MNIST is far below the 2-component one
    assert results["results"]["M10"]["pca_test_squared_error"] < 0.7 * results["results"]["M2"]["pca_test_squared_error"]
    assert {"angles_and_errors.png", "reconstructions.png", "report.md"} <= {p.name for p in tmp_path.iterdir()}
    assert "![" in (tmp_path / "report.md").read_text()
    page = assert_self_contained(tmp_path / "report.html")            # report.md's figures, inlined
    assert len(page.images()) == len(report.figures) == 2 and report.checks[0]["claim"] in page.text
