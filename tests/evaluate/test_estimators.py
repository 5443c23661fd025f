"""The three log p(x) estimators side by side on the 4-pixel model whose log p(x) is known by
quadrature, their counted cost, their configuration checks, and ``vaekit evaluate --estimator``."""
import json
import math
from pathlib import Path

import pytest
import torch

from simulated_ranks import RankOf
from test_likelihood import exact_log_px
from two_by_two import ALL_IMAGES, self_fitted_vae
from vaekit.cli import main
from vaekit.config import ConfigError, EvalConfig
from vaekit.evaluate import evaluate_model, log_likelihood_estimate
from vaekit.evaluate.estimators import estimate_log_likelihood

PRESET = str(Path(__file__).resolve().parents[2] / "configs" / "digits_vae.yaml")


@pytest.fixture(scope="module")
def trained():
    """The tiny 2-d latent model with a fitted encoder, and its exact log p(x) for all 16 images."""
    model = self_fitted_vae(2)
    return model, exact_log_px(model, 2, 401)


@pytest.mark.parametrize("config, tolerance, evaluations_per_example", [
    (EvalConfig(estimator="is", importance_samples=5000), 0.02, 5000),
    (EvalConfig(estimator="prior", importance_samples=5000), 0.1, 5000),
    (EvalConfig(estimator="ais", importance_samples=32, ais_steps=100, ais_leapfrog_steps=5), 0.2, 32 * (1 + 99 * 5)),
    (EvalConfig(estimator="ais", importance_samples=32, ais_steps=100, ais_leapfrog_steps=5, ais_start="posterior"),
     0.05, 32 * (1 + 99 * 5)),
], ids=["is", "prior", "ais", "ais-from-posterior"])
def test_every_estimator_approaches_the_exact_log_px(trained, config, tolerance, evaluations_per_example):
    model, exact = trained
    result = estimate_log_likelihood(model, ALL_IMAGES, config)
    torch.testing.assert_close(result["log_px"], exact, atol=tolerance, rtol=0)
    assert abs(result["nll"] + float(exact.mean())) < tolerance / 2
    assert result["nll"] == pytest.approx(-float(result["log_px"].mean()))
    assert result["nll_standard_error"] == pytest.approx(float(result["log_px"].std()) / 4)
    assert result["decoder_evaluations"] == 16 * evaluations_per_example and result["seconds"] > 0
    assert result["estimator"] == config.estimator and result["importance_samples"] == config.importance_samples


def test_prior_sampling_errs_more_than_importance_sampling_at_equal_k(trained):
    """At k = 100 the prior misses where p(z|x) lives: several times the error of IS with q(z|x)."""
    model, exact = trained
    errors = {}
    for estimator in ("is", "prior"):
        config = EvalConfig(estimator=estimator, importance_samples=100)
        repeats = torch.stack([estimate_log_likelihood(model, ALL_IMAGES, config)["log_px"] for _ in range(20)])
        errors[estimator] = float((repeats - exact).pow(2).mean().sqrt())     # RMS over 20 × 16 estimates
    assert errors["prior"] > 2 * errors["is"]


def test_is_estimator_is_the_importance_sampled_estimate_batch_by_batch(trained):
    """Batch i of the dispatcher is log_likelihood_estimate on that batch with the seed s + i."""
    model, _ = trained
    config = EvalConfig(importance_samples=300, sample_chunk=70, batch_size=5)
    torch.manual_seed(7)
    dispatched = estimate_log_likelihood(model, ALL_IMAGES, config)["log_px"]
    torch.manual_seed(7)
    seed = int(torch.randint(0, 2 ** 62, ()))
    expected = []
    for index, start in enumerate(range(0, len(ALL_IMAGES), 5)):
        torch.manual_seed(seed + index)
        expected.append(log_likelihood_estimate(model, ALL_IMAGES[start:start + 5], 300, 70, 5))
    assert torch.equal(dispatched, torch.cat(expected))


@pytest.mark.parametrize("estimator", ["is", "prior", "ais"])
@pytest.mark.parametrize("world_size", [2, 3, 5])
def test_ranks_share_the_batches_and_together_give_the_one_process_numbers(trained, estimator, world_size):
    """W ranks estimate batches r, r + W, …: each row comes from one rank, and the sum over the
    ranks equals one process's estimate exactly (4 batches of 4: with W = 5 one rank has none)."""
    model, _ = trained
    config = EvalConfig(estimator=estimator, importance_samples=40, sample_chunk=16, batch_size=4, ais_steps=5)
    torch.manual_seed(3)
    alone = estimate_log_likelihood(model, ALL_IMAGES, config)
    shares = []
    for rank in range(world_size):
        torch.manual_seed(3)
        shares.append(estimate_log_likelihood(model, ALL_IMAGES, config, distributed=RankOf(rank, world_size)))
    filled = torch.stack([share["log_px"] != 0 for share in shares])
    assert filled.sum(0).eq(1).all()
    assert torch.equal(sum(share["log_px"] for share in shares), alone["log_px"])
    assert sum(share["decoder_evaluations"] for share in shares) == alone["decoder_evaluations"]


class Untouchable:
    """A model that fails if the estimator does any work with it."""

    def __getattr__(self, name):
        raise AssertionError(f"model.{name} used before the configuration was checked")


@pytest.mark.parametrize("field, value", [("estimator", "iwae"), ("ais_start", "middle"), ("ais_steps", 0),
                                          ("ais_leapfrog_steps", 0), ("importance_samples", 0),
                                          ("ais_step_size", 0.0), ("sample_chunk", 0)])
def test_bad_settings_are_refused_by_name_before_any_work(field, value):
    with pytest.raises(ConfigError, match=f"evaluate.{field}"):
        estimate_log_likelihood(Untouchable(), ALL_IMAGES, EvalConfig(**{field: value}))


def test_evaluate_model_reports_the_estimator_and_its_cost(trained):
    model, _ = trained
    results = evaluate_model(model, ALL_IMAGES, EvalConfig(estimator="prior", importance_samples=50))
    assert results["estimator"] == "prior" and results["importance_samples"] == 50
    assert results["estimator_decoder_evaluations"] == 16 * 50 and results["estimator_seconds"] > 0
    assert results["bits_per_dim"] == pytest.approx(results["nll"] / (4 * math.log(2)))
    assert results["nll_standard_error"] > 0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("estimators") / "run"
    assert main(["train", PRESET, f"run_dir={folder}", "train.epochs=2", "train.progress=false",
                 "model.hidden=[32]", "evaluate.importance_samples=20"]) == 0
    return folder


@pytest.mark.parametrize("arguments, estimator, evaluations_per_example", [
    (["--estimator", "ais", "--ais-steps", "5", "-k", "4"], "ais", 4 * (1 + 4 * 10)),
    (["--estimator", "prior", "-k", "30"], "prior", 30),
])
def test_evaluate_command_reports_estimator_cost_and_seconds(run_dir, capsys, arguments, estimator,
                                                              evaluations_per_example):
    assert main(["evaluate", str(run_dir), "--max-examples", "20", *arguments]) == 0
    metrics = json.loads((run_dir / "report" / "metrics.json").read_text())
    assert metrics["estimator"] == estimator and metrics["num_examples"] == 20
    assert metrics["estimator_decoder_evaluations"] == 20 * evaluations_per_example
    assert metrics["estimator_seconds"] > 0 and math.isfinite(metrics["nll"])
    assert metrics["nll"] <= -metrics["elbo"] + 5.0           # a log p(x) estimate, not noise
    printed = capsys.readouterr().out
    assert "estimator_decoder_evaluations" in printed and "estimator_seconds" in printed


def test_evaluate_command_refuses_bad_estimator_settings(run_dir, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(run_dir), "--estimator", "exact"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err
    assert main(["evaluate", str(run_dir), "evaluate.ais_start=middle", "--estimator", "ais", "-k", "2",
                 "--ais-steps", "2", "--max-examples", "2"]) == 2
    assert "evaluate.ais_start" in capsys.readouterr().err
