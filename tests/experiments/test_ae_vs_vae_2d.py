import json
import math

import torch
from safetensors.torch import load_file

from vaekit.data import load_dataset
from vaekit.evaluate.digit_classifier import build_classifier
from vaekit.experiments import run_experiment
from vaekit.experiments.ae_vs_vae_2d import CLASSIFIER_FILE


def test_ae_and_vae_codes_and_prior_decodes(shared_data, tmp_path):
    report = run_experiment("ae-vs-vae-2d", tmp_path, quick=True, overrides=[f"data_root={shared_data}"])
    results = json.loads((tmp_path / "results.json").read_text())
    settings, measured = results["settings"], results["results"]
    checks = {check["claim"]: check for check in results["checks"]}
    assert len(checks) == 6, report.checks

    # every check states what the recorded numbers say (no check computed on other numbers)
    ae, vae = measured["AE"], measured["VAE"]
    expected = [measured["classifier_test_accuracy"] > settings["min_classifier_accuracy"],
                vae["prior_samples"]["mean_confidence"] > ae["prior_samples"]["mean_confidence"],
                vae["prior_samples"]["inception_score"] > ae["prior_samples"]["inception_score"],
                vae["fitted_gaussian_samples"]["inception_score"] > ae["fitted_gaussian_samples"]["inception_score"],
                vae["pixel_change_absolute_step"] < ae["pixel_change_absolute_step"],
                vae["pixel_change_relative_step"] < ae["pixel_change_relative_step"]]
    assert [check["held"] for check in results["checks"]] == expected
    # the checks that hold in the quick run: a usable judge; the VAE's prior decodes are clearer-and-more-
    # diverse (inception score); its decoder is smoother for a step scaled to each model's own code spread.
    # (Mean confidence alone and the fixed step favour the AE: it decodes most draws to a few clear digits,
    # and its codes spread 5x wider, so a fixed step moves it less.)
    assert [results["checks"][i]["held"] for i in (0, 2, 5)] == [True] * 3, report.checks
    # the inception score is exp(H[p̄] − mean H[p(y|x)]), recomputed from the recorded entropies
    for model in (ae, vae):
        quality = model["prior_samples"]
        assert quality["inception_score"] == math.exp(quality["marginal_entropy"] - quality["prediction_entropy"])
        assert 1.0 <= quality["inception_score"] <= 10.0

    # the recorded classifier accuracy agrees with an independent evaluation of the saved weights on
    # the first 300 test images (a different sample of the test set), within binomial error
    classifier = build_classifier(hidden=tuple(settings["classifier_hidden"]))
    classifier.load_state_dict(load_file(str(tmp_path / CLASSIFIER_FILE)))
    test = load_dataset("mnist", "test", root=shared_data)
    with torch.no_grad():
        correct = (classifier(test.images[:300]).argmax(1) == test.labels[:300]).double().mean().item()
    recorded = measured["classifier_test_accuracy"]
    assert abs(correct - recorded) < 4 * math.sqrt(recorded * (1 - recorded) / 300) + 0.01

    # one scatter point per test image, for both models; scores are of the prior draws used
    assert measured["scatter_points"] == {"AE": settings["test_size"], "VAE": settings["test_size"]}
    assert measured["test_images"] == settings["test_size"]
    for model in (ae, vae):
        assert sum(model["prior_samples"]["class_counts"]) == settings["num_prior_samples"]
        assert sum(model["grid"]["class_counts"]) == settings["grid_size"] ** 2
        assert 0.1 <= model["prior_samples"]["mean_confidence"] <= 1
        assert 0 <= model["prior_samples"]["class_entropy"] <= math.log(10)
    # the KL keeps the VAE's codes at the prior's scale; nothing constrains the AE's
    assert all(0.5 < std < 2 for std in vae["code_std"]) and max(ae["code_std"]) > 2
    assert {"codes.png", "manifold_ae.png", "manifold_vae.png", "prior_samples.png", "predicted_digits.png",
            "report.md"} <= {p.name for p in tmp_path.iterdir()}
