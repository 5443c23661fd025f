"""The commands a user types, on the embedded digits data with a tiny budget."""
import json
import math
import subprocess
import sys

import pytest

from pathlib import Path

from vaekit.cli import build_parser, main

PRESET = str(Path(__file__).resolve().parents[1] / "configs" / "digits_vae.yaml")

FAST = ["train.epochs=3", "train.progress=false", "model.hidden=[32]", "evaluate.importance_samples=20"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", PRESET, f"run_dir={folder}", *FAST]) == 0
    return folder


def test_train_writes_a_complete_run_folder(run_dir):
    assert {"config.yaml", "checkpoint", "metrics.csv", "tensorboard"} <= {p.name for p in run_dir.iterdir()}


def test_evaluate_writes_metrics(run_dir):
    assert main(["evaluate", str(run_dir), "-k", "50", "--max-examples", "100"]) == 0
    metrics = json.loads((run_dir / "report" / "metrics.json").read_text())
    assert metrics["num_examples"] == 100 and metrics["importance_samples"] == 50
    assert metrics["nll"] <= -metrics["elbo"] + 1.0 and len(metrics["kl_per_dimension"]) == 8


@pytest.mark.parametrize("command", ["sample", "reconstruct", "interpolate"])
def test_figure_commands_write_pngs(run_dir, command, tmp_path):
    out = tmp_path / f"{command}.png"
    assert main([command, str(run_dir), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_report_writes_every_figure(run_dir):
    assert main(["report", str(run_dir), "-k", "10"]) == 0
    names = {p.name for p in (run_dir / "report").iterdir()}
    assert {"metrics.json", "loss_curve.png", "samples.png", "reconstructions.png", "interpolation.png",
            "traversals.png"} <= names


def test_training_into_an_existing_run_is_refused(run_dir, capsys):
    assert main(["train", PRESET, f"run_dir={run_dir}", *FAST]) == 2
    assert "--resume" in capsys.readouterr().err


def test_resume_extends_a_run(run_dir):
    assert main(["train", "--resume", str(run_dir), "train.epochs=4"]) == 0
    assert len((run_dir / "metrics.csv").read_text().splitlines()) == 5


def test_bad_input_exits_2_with_a_message(tmp_path, capsys):
    assert main(["train", PRESET, "model.latent_dimz=3"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", PRESET, "data.name=/no/such/file.npy", f"run_dir={tmp_path}/r"]) == 2
    assert "file.npy" in capsys.readouterr().err


def test_every_command_has_help(capsys):
    commands = build_parser()._subparsers._group_actions[0].choices
    assert set(commands) == {"train", "evaluate", "sample", "reconstruct", "interpolate", "report", "experiment",
                             "presets", "serve"}
    for name in commands:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0 and f"usage: vaekit {name}" in capsys.readouterr().out
    result = subprocess.run([sys.executable, "-m", "vaekit", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: vaekit" in result.stdout


def test_evaluate_a_dsprites_run_reports_disentanglement_metrics(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(Path(PRESET).parent / "dsprites_beta_vae.yaml"), f"run_dir={run}", "train.epochs=1",
                 "train.epoch_size=256", "model.conv_channels=[4,4,8,8]", "model.hidden=[16]", "model.latent_dim=3",
                 "train.progress=false"]) == 0
    assert main(["evaluate", str(run), "-k", "2", "--max-examples", "20", "--metric-points", "300",
                 "--votes", "20"]) == 0
    metrics = json.loads((run / "report" / "metrics.json").read_text())["disentanglement"]
    assert set(metrics) == {"beta_vae", "factor_vae", "mig", "sap", "dci_disentanglement", "dci_completeness",
                            "dci_informativeness"}
    assert all(0 <= value <= 1 for value in metrics.values())
    assert "mig" in capsys.readouterr().out


RICHER_MODELS = {
    "iwae-dreg": ["objective.name=iwae", "objective.num_samples=5", "objective.gradient=dreg"],
    "planar": ["model.posterior=planar", "model.flow_length=2"],
    "iaf": ["model.posterior=iaf", "model.flow_length=2", "model.flow_hidden=[16]", "model.flow_context=8"],
    "vampprior": ["model.prior=vamp", "model.prior_components=10"],
    "mog-prior": ["model.prior=mog", "model.prior_components=5"],
    "two-layer-ladder": ["model.kind=hierarchical-vae", "model.latent_dims=[6,2]", "model.hidden_upper=[16]",
                         "model.inference=ladder"],
}


@pytest.mark.parametrize("name", RICHER_MODELS)
def test_every_richer_model_trains_reports_and_evaluates_with_each_estimator(name, tmp_path):
    folder = tmp_path / name
    assert main(["train", PRESET, f"run_dir={folder}", *FAST, "train.epochs=2", *RICHER_MODELS[name]]) == 0
    assert main(["report", str(folder), "-k", "10", "--max-examples", "50"]) == 0
    names = {p.name for p in (folder / "report").iterdir()}
    assert {"loss_curve.png", "samples.png", "reconstructions.png", "interpolation.png", "traversals.png"} <= names
    for estimator in ("prior", "ais"):
        assert main(["evaluate", str(folder), "--estimator", estimator, "-k", "4", "--ais-steps", "5",
                     "--max-examples", "20"]) == 0
        metrics = json.loads((folder / "report" / "metrics.json").read_text())
        assert metrics["estimator"] == estimator and math.isfinite(metrics["nll"])
        assert metrics["estimator_decoder_evaluations"] > 0


def test_help_and_presets_do_not_import_torch_but_the_api_names_still_resolve():
    """``import vaekit``, ``vaekit --help`` and ``vaekit presets`` run without importing torch (1.5 s
    here); ``vaekit.VAE`` and the other public names import it on first use."""
    import subprocess
    import sys
    probe = ("import sys, contextlib, io; from vaekit.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    try: main(['--help'])\n"
             "    except SystemExit: pass\n"
             "    main(['presets'])\n"
             "import vaekit; assert 'torch' not in sys.modules, 'torch imported'\n"
             "assert vaekit.VAE.__name__ == 'VAE' and vaekit.models.VAE is vaekit.VAE and 'torch' in sys.modules\n"
             "assert all(getattr(vaekit, name) is not None for name in vaekit.__all__)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
