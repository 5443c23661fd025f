"""The experiment table and the runner shared by the CLI and the tests."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import yaml

from vaekit.config import ConfigError, from_dict, merge, parse_override
from vaekit.experiments.report import Report
from vaekit.presets import PRESET_DIR
from vaekit.registry import Registry

CONFIG_DIR = PRESET_DIR / "experiments"


@dataclass(frozen=True)
class Experiment:
    """``run(report, settings)`` with ``settings`` an instance of ``settings_type``."""

    name: str
    claim: str
    settings_type: type
    run: Callable[[Report, Any], None]


EXPERIMENTS: Registry[Experiment] = Registry("experiment")


def experiment(name: str, claim: str, settings_type: type):
    """Decorator: register ``run(report, settings)`` as experiment ``name``."""
    def decorate(run):
        EXPERIMENTS.register(name)(Experiment(name, claim, settings_type, run))
        return run
    return decorate


def load_settings(spec: Experiment, quick: bool, overrides: list[str] = (), config_dir: Path = CONFIG_DIR):
    """Defaults < NAME.yaml's ``full:`` or ``quick:`` section in ``config_dir`` < ``key=value`` overrides;
    a missing file or section is a ConfigError, not a silent run of the defaults."""
    path, section = config_dir / f"{spec.name}.yaml", "quick" if quick else "full"
    if not path.is_file():
        raise ConfigError(f"experiment {spec.name}: settings file {path} does not exist")
    sections = yaml.safe_load(path.read_text())
    if not isinstance(sections, dict) or section not in sections:
        raise ConfigError(f"experiment {spec.name}: {path} has no `{section}:` section")
    values: dict[str, Any] = dict(sections[section] or {})
    for text in overrides:
        merge(values, *parse_override(text))
    try:
        return from_dict(spec.settings_type, values)
    except ConfigError as error:
        raise ConfigError(f"experiment {spec.name}: {error}") from None


def run_experiment(name: str, out_dir: str | Path, quick: bool = False, overrides: list[str] = (),
                   data_root: str | None = None) -> Report:
    """Run experiment ``name`` into ``out_dir`` (figures, results.json, report.md)."""
    spec = EXPERIMENTS[name]
    settings = load_settings(spec, quick, list(overrides))
    if data_root is not None and hasattr(settings, "data_root"):
        settings = dataclasses.replace(settings, data_root=data_root)
    report = Report(out_dir, name, spec.claim, settings, quick)
    torch.manual_seed(getattr(settings, "seed", 0))
    started = time.perf_counter()
    spec.run(report, settings)
    report.write(seconds=time.perf_counter() - started)
    return report
