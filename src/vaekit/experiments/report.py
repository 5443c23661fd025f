"""An experiment's report folder: PNG figures, ``results.json``, ``report.md`` and ``report.html``."""
from __future__ import annotations

import dataclasses
import json
import platform
from pathlib import Path
from typing import Any

import torch


class Report:
    """Collects numbers, tables, claims and figures; ``write()`` renders results.json, report.md and the
    same content as one self-contained report.html (figures inlined)."""

    def __init__(self, out_dir: str | Path, name: str, claim: str, settings: Any, quick: bool):
        self.folder = Path(out_dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.name, self.claim, self.settings, self.quick = name, claim, settings, quick
        self.results: dict[str, Any] = {}
        self.checks: list[dict[str, Any]] = []
        self.tables: list[tuple[str, list[str], list[list[Any]]]] = []
        self.figures: list[tuple[str, str]] = []

    def record(self, **values: Any) -> None:
        """Numbers that go into results.json."""
        self.results.update(values)

    def check(self, statement: str, held: bool, measured: str) -> bool:
        """A numeric claim, whether it held, and the measured numbers behind it."""
        self.checks.append({"claim": statement, "held": bool(held), "measured": measured})
        return bool(held)

    def table(self, title: str, header: list[str], rows: list[list[Any]]) -> None:
        self.tables.append((title, header, rows))

    def figure(self, name: str, figure, caption: str) -> Path:
        """Save a matplotlib figure as NAME.png and list it in the report."""
        import matplotlib.pyplot as plt

        path = self.folder / f"{name}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        self.figures.append((path.name, caption))
        return path

    def write(self, seconds: float) -> None:
        held = all(check["held"] for check in self.checks)
        payload = {
            "experiment": self.name, "claim": self.claim, "quick": self.quick, "all_claims_held": held,
            "checks": self.checks, "results": self.results, "seconds": round(seconds, 1),
            "settings": dataclasses.asdict(self.settings),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        }
        (self.folder / "results.json").write_text(json.dumps(payload, indent=2, default=str))
        lines = [f"# {self.name}", "", f"**Claim.** {self.claim}", "",
                 f"Run: {'quick (--quick)' if self.quick else 'full'}, {seconds / 60:.1f} min on "
                 f"{payload['machine']}.", "", "## Checks", "", "| claim | measured | held |", "|---|---|---|"]
        lines += [f"| {c['claim']} | {c['measured']} | {'yes' if c['held'] else '**no**'} |" for c in self.checks]
        for title, header, rows in self.tables:
            lines += ["", f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
        if self.figures:
            lines += ["", "## Figures"]
            for file, caption in self.figures:
                lines += ["", f"![{caption}]({file})", "", f"*{caption}*"]
        (self.folder / "report.md").write_text("\n".join(lines) + "\n")
        (self.folder / "report.html").write_text(self._html(payload, seconds), encoding="utf-8")

    def _html(self, payload: dict[str, Any], seconds: float) -> str:
        """report.md's content as HTML: every text escaped, checks coloured by outcome, figures inlined."""
        from vaekit.viz.html_page import heading, page, paragraph, png_figure, table

        blocks = [paragraph(f"Claim. {self.claim}"),
                  paragraph(f"Run: {'quick (--quick)' if self.quick else 'full'}, {seconds / 60:.1f} min on "
                            f"{payload['machine']}."),
                  heading("Checks"),
                  table(["claim", "measured", "held"],
                        [[c["claim"], c["measured"], "yes" if c["held"] else "no"] for c in self.checks],
                        ["held" if c["held"] else "failed" for c in self.checks])]
        for title, header, rows in self.tables:
            blocks += [heading(title), table([str(cell) for cell in header],
                                             [[_cell(value) for value in row] for row in rows])]
        if self.figures:
            blocks.append(heading("Figures"))
            blocks += [png_figure(self.folder / file, caption) for file, caption in self.figures]
        blocks += [heading("Settings"), table(["setting", "value"], [[key, _cell(value)] for key, value
                                                                     in payload["settings"].items()])]
        return page(self.name, blocks)


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
