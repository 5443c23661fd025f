"""Bad settings of the richer models: one line naming the key, exit 2, and no run folder made."""
from pathlib import Path

import pytest

from vaekit.cli import main

PRESET = str(Path(__file__).resolve().parents[1] / "configs" / "digits_vae.yaml")


@pytest.mark.parametrize("overrides, message", [
    (["model.posterior=radial"], "model.posterior: unknown posterior 'radial'"),
    (["model.prior=gmm"], "model.prior: unknown prior 'gmm'"),
    (["model.posterior=planar", "model.flow_length=0"], "model.flow_length must be ≥ 1, got 0"),
    (["model.posterior=iaf", "model.flow_length=-2"], "model.flow_length must be ≥ 1, got -2"),
    (["model.prior=vamp", "model.prior_components=0"], "model.prior_components must be ≥ 1, got 0"),
    (["objective.name=iwae", "objective.num_samples=0"], "objective.num_samples must be ≥ 1, got 0"),
    (["objective.name=iwae", "objective.gradient=reinforce"], "objective.gradient must be one of"),
    (["objective.gradient=dreg"], "objective.gradient=dreg is an estimator of the IWAE bound"),
    (["objective.name=iwae", "objective.gradient=dreg", "model.posterior=planar"],
     "model.posterior=planar cannot"),
    (["objective.name=iwae", "objective.gradient=stl", "model.posterior=iaf"], "model.posterior=iaf cannot"),
    (["model.kind=hierarchical-vae", "model.latent_dims=[4,2]", "model.posterior=iaf"],
     "an IAF/planar flow needs a single vector latent"),
    (["model.posterior=planar", "objective.free_bits=0.5"], "objective.free_bits"),
    (["evaluate.estimator=mcmc"], "evaluate.estimator must be one of is, ais, prior, got 'mcmc'"),
    (["evaluate.ais_start=middle"], "evaluate.ais_start must be one of prior, posterior, got 'middle'"),
])
def test_bad_setting_is_one_line_naming_the_key_before_the_run_folder(overrides, message, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", PRESET, f"run_dir={run_dir}", "train.epochs=1", *overrides]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error and "Traceback" not in error
    assert not run_dir.exists()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-estimators") / "run"
    assert main(["train", PRESET, f"run_dir={folder}", "train.epochs=1", "train.progress=false",
                 "model.hidden=[16]"]) == 0
    return folder


@pytest.mark.parametrize("arguments, message", [
    (["-k", "-1"], "evaluate.importance_samples must be ≥ 0 (0 skips the log p(x) estimate), got -1"),
    (["--estimator", "ais", "--ais-steps", "0"], "evaluate.ais_steps must be ≥ 1, got 0"),
])
def test_bad_estimator_settings_are_one_line_errors(run_dir, arguments, message, capsys):
    assert main(["evaluate", str(run_dir), *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error


def test_an_unknown_estimator_is_refused_by_the_parser(run_dir, capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["evaluate", str(run_dir), "--estimator", "mcmc"])
    assert exit_status.value.code == 2 and "invalid choice: 'mcmc'" in capsys.readouterr().err


def test_ais_from_a_planar_posterior_is_refused_by_name(tmp_path, capsys):
    run_dir = tmp_path / "planar"
    assert main(["train", PRESET, f"run_dir={run_dir}", "train.epochs=1", "train.progress=false",
                 "model.hidden=[16]", "model.posterior=planar", "model.flow_length=2"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--estimator", "ais", "--ais-start", "posterior", "-k", "2"]) == 2
    error = capsys.readouterr().err.strip()
    assert "evaluate.ais_start=posterior needs log q(z|x) at any z" in error and "\n" not in error
