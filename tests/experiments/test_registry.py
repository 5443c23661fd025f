import re

import pytest

from vaekit.cli import main
from vaekit.config import ConfigError
from vaekit.experiments import EXPERIMENTS, run_experiment
from vaekit.experiments.registry import CONFIG_DIR, load_settings


def test_every_experiment_has_a_config_with_full_and_quick_sections():
    assert {path.stem for path in CONFIG_DIR.glob("*.yaml")} == set(EXPERIMENTS.names())  # and no stray file
    for name in EXPERIMENTS.names():
        spec = EXPERIMENTS[name]
        assert (CONFIG_DIR / f"{name}.yaml").is_file(), name
        assert load_settings(spec, quick=True) != load_settings(spec, quick=False)


def test_a_missing_settings_file_or_section_is_an_error_not_the_defaults(tmp_path):
    spec = EXPERIMENTS["linear-ae-pca"]
    with pytest.raises(ConfigError, match="experiment linear-ae-pca: settings file .* does not exist"):
        load_settings(spec, quick=True, config_dir=tmp_path)
    (tmp_path / "linear-ae-pca.yaml").write_text("full:\n  epochs: 3\n")
    assert load_settings(spec, quick=False, config_dir=tmp_path).epochs == 3
    with pytest.raises(ConfigError, match="experiment linear-ae-pca: .* has no `quick:` section"):
        load_settings(spec, quick=True, config_dir=tmp_path)


def test_bad_settings_are_rejected_with_the_experiment_name(tmp_path):
    with pytest.raises(ConfigError, match="experiment linear-ae-pca: unknown key"):
        run_experiment("linear-ae-pca", tmp_path, quick=True, overrides=["epoch=3"])


def test_list_names_every_experiment(capsys):
    assert main(["experiment", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in EXPERIMENTS.names())


@pytest.mark.parametrize("experiment, override, message", [
    ("linear-ae-pca", "epochs=-1", "epochs must be ≥ 1, got -1"),
    ("linear-ae-pca", "code_sizes=[2, 0]", "code_sizes[1] must be ≥ 1, got 0"),
    ("linear-ae-pca", "lr=0", "lr must be > 0"),
    ("linear-ae-pca", "seed=-1", "seed must be ≥ 0"),
    ("posterior-collapse", "word_dropout=1.5", "word_dropout must be in [0, 1]"),
    ("denoising-ae", "masking_levels=[0.2, -0.1]", "masking_levels[1] must be in [0, 1]"),
    ("beta-sweep", "betas=[1.0, -4.0]", "betas[1] must be ≥ 0"),
    ("tighter-bounds", "bound_samples=[1, 0]", "bound_samples[1] must be ≥ 1"),
])
def test_out_of_range_settings_stop_before_anything_runs(experiment, override, message):
    """Sizes ≥ 1, rates > 0, seeds ≥ 0, dropout and corruption levels in [0, 1], weights ≥ 0 — and the
    shipped full and quick settings of every experiment are all in range."""
    with pytest.raises(ConfigError, match=f"experiment {experiment}: {re.escape(message)}"):
        load_settings(EXPERIMENTS[experiment], True, [override])
    for name in EXPERIMENTS.names():
        for quick in (True, False):
            load_settings(EXPERIMENTS[name], quick)
