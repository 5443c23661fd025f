"""A run's report as one self-contained HTML file, ``RUN_DIR/report/report.html``.

Built from the files of the run folder only: ``config.yaml``, ``metrics.csv`` and what ``vaekit report``
wrote into ``report/`` (``metrics.json``, the PNG figures, the ``.txt`` sentences of text runs).
What a run lacks is left out and named, never an error.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from vaekit.runs import CONFIG_FILE
from vaekit.train.logging import read_metrics
from vaekit.viz.curves import DIAGNOSTICS, diagnostic_columns
from vaekit.viz.html_page import heading, page, paragraph, png_figure, preformatted, table

# report/ file stem → section title; each is a PNG (images) or a .txt (sentences)
OUTPUTS = {"samples": "Samples", "reconstructions": "Reconstructions", "interpolation": "Interpolation",
           "traversals": "Latent traversals"}
OPTIONAL = {"latent_map": "Latent map (2-D codes)"}   # drawn only for some runs: not listed as missing
POSTERIOR_DIAGNOSTICS = list(DIAGNOSTICS)[:3]       # logged for models with q(z|x) and p(z)


def write_run_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report/report.html`` and return its path."""
    run_dir = Path(run_dir)
    folder = run_dir / "report"
    config = yaml.safe_load((run_dir / CONFIG_FILE).read_text()) or {}
    model = config.get("model", {})
    rows = read_metrics(run_dir / "metrics.csv")
    epochs = f", {int(rows[-1]['epoch'])} epochs" if rows and "epoch" in rows[-1] else ""
    blocks = [paragraph(f"{model.get('kind', '?')} on {config.get('data', {}).get('name', '?')}{epochs}; "
                        f"run folder {run_dir.resolve()}")]
    blocks += _metrics(folder / "metrics.json")
    blocks += _training(folder, rows)
    for stem, title in OPTIONAL.items():
        if (folder / f"{stem}.png").is_file():
            blocks += [heading(title), png_figure(folder / f"{stem}.png", f"report/{stem}.png")]
    missing = []
    for stem, title in OUTPUTS.items():
        if (folder / f"{stem}.png").is_file():
            blocks += [heading(title), png_figure(folder / f"{stem}.png", f"report/{stem}.png")]
        elif (folder / f"{stem}.txt").is_file():
            blocks += [heading(title), preformatted((folder / f"{stem}.txt").read_text())]
        else:
            missing.append(title.lower())
    if missing:
        blocks.append(paragraph(f"Not drawn for this run (model.kind={model.get('kind', '?')}): "
                                f"{', '.join(missing)}.", "note"))
    blocks += [heading("Config"), paragraph("config.yaml, as section.key = value (the override syntax of "
                                            "vaekit train)", "note"),
               table(["key", "value"], [[key, _config_text(value)] for key, value in _flatten(config)])]
    path = folder / "report.html"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(page(f"vaekit report: {run_dir.resolve().name}", blocks), encoding="utf-8")
    return path


def _metrics(path: Path) -> list[str]:
    blocks = [heading("Test metrics")]
    if not path.is_file():
        return blocks + [paragraph("No metrics.json: run vaekit evaluate RUN_DIR.", "note")]
    metrics = json.loads(path.read_text())
    return blocks + [paragraph("metrics.json of vaekit evaluate (nats per example unless named otherwise)",
                               "note"),
                     table(["metric", "value"], [[key, _metric_text(value)] for key, value in _flatten(metrics)])]


def _training(folder: Path, rows: list[dict[str, float]]) -> list[str]:
    """The loss and diagnostic curves, what metrics.csv lacks, and the last epoch's values."""
    blocks = [heading("Training")]
    if not rows:
        return blocks + [paragraph("No metrics.csv: nothing was logged.", "note")]
    for stem, caption in (("loss_curve", "loss terms per epoch (metrics.csv)"),
                          ("diagnostics", "diagnostics per epoch on the validation set (metrics.csv)")):
        if (folder / f"{stem}.png").is_file():
            blocks.append(png_figure(folder / f"{stem}.png", caption))
    absent = [title for title in POSTERIOR_DIAGNOSTICS if title not in diagnostic_columns(rows)]
    if absent:
        blocks.append(paragraph(f"Not in metrics.csv: {'; '.join(absent)} (logged per epoch only for models "
                                f"with an encoder q(z|x) and a prior p(z), trained with a validation split).",
                                "note"))
    last = rows[-1]
    terms = list(dict.fromkeys(key.split("_", 1)[1] for key in last
                               if key.startswith(("train_", "valid_")) and not key.startswith("valid_kl_d")))
    blocks += [paragraph(f"Last logged epoch ({int(last.get('epoch', len(rows)))}):", "note"),
               table(["term", "train", "valid"], [[term, *(_metric_text(last[f"{split}_{term}"])
                                                          if f"{split}_{term}" in last else "—"
                                                          for split in ("train", "valid"))] for term in terms])]
    return blocks


def _flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as dotted keys: {"a": {"b": 1}} → [("a.b", 1)]."""
    items = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            items += _flatten(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


def _config_text(value: Any) -> str:
    """A config value as YAML's flow style would read: lists in brackets, null, true/false."""
    return value if isinstance(value, str) and value else json.dumps(value)


def _metric_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_metric_text(item) for item in value) + "]"
    return str(value)
