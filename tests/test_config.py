import pytest

from vaekit.config import ConfigError, RunConfig, load_config, save_config


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_then_yaml_then_overrides(tmp_path):
    path = write(tmp_path, "model: {latent_dim: 5, hidden: [64, 32]}\ntrain: {epochs: 3}\n")
    config = load_config(path, ["model.latent_dim=2", "train.grad_clip=5", "run_dir=runs/x"])
    assert config.model.latent_dim == 2 and config.model.hidden == (64, 32)
    assert config.train.epochs == 3 and config.train.grad_clip == 5.0 and config.train.lr == RunConfig().train.lr
    assert config.run_dir == "runs/x"


def test_unknown_keys_are_rejected_with_the_accepted_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) model.latent_dimz; model accepts: .*latent_dim"):
        load_config(write(tmp_path, "model: {latent_dimz: 5}\n"))
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(None, ["optimiser.lr=1"])


def test_wrong_types_name_the_key_and_the_value(tmp_path):
    with pytest.raises(ConfigError, match=r"train.epochs: expected int, got 'ten' \(str\)"):
        load_config(None, ["train.epochs=ten"])
    with pytest.raises(ConfigError, match=r"model.hidden\[1\]: expected int"):
        load_config(None, ["model.hidden=[3, 2.5]"])
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "model: {latent_dim: [\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not of the form"):
        load_config(None, ["epochs"])


def test_saved_config_loads_back_identically(tmp_path):
    config = load_config(None, ["model.hidden=[7]", "train.grad_clip=1.5", "data.name=mnist"])
    save_config(config, tmp_path / "saved.yaml")
    assert load_config(tmp_path / "saved.yaml") == config


def test_every_preset_in_configs_is_valid():
    from pathlib import Path

    presets = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))  # experiments/: test_registry
    assert presets
    for preset in presets:
        load_config(preset)
