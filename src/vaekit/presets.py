"""The YAML presets shipped inside the package: ``vaekit train NAME`` and ``vaekit presets``.

They are package data in ``vaekit/configs/`` (``experiments/`` holds each experiment's settings),
so an installed wheel has them; in a checkout ``configs/`` at the root links to that folder.
"""
from __future__ import annotations

from pathlib import Path

from vaekit.config import ConfigError

PRESET_DIR = Path(__file__).resolve().with_name("configs")


def available_presets() -> dict[str, str]:
    """Preset name: the first line of the comment its file starts with ('' if none)."""
    return {path.stem: _description(path) for path in sorted(PRESET_DIR.glob("*.yaml"))}


def _description(path: Path) -> str:
    lines = path.read_text().splitlines() + [""]
    if not lines[0].startswith("#"):
        return ""
    first = lines[0].lstrip("#").strip()
    return first if first.endswith(".") or not lines[1].startswith("#") else f"{first} …"


def preset_path(name: str | Path) -> Path:
    """``name`` itself if it is a file, else the preset ``name`` (with or without ``.yaml``) when
    ``name`` has no folder part; anything else is a ConfigError listing the presets."""
    path = Path(name)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".yaml")
    if path.name == str(name) and (PRESET_DIR / f"{stem}.yaml").is_file():
        return PRESET_DIR / f"{stem}.yaml"
    raise ConfigError(f"{name}: no such file and no preset of that name; "
                      f"presets (`vaekit presets`): {', '.join(available_presets())}")
