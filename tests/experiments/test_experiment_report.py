"""An experiment's report.html: report.md's checks, tables and figures in one escaped, self-contained file."""
from dataclasses import dataclass

import torch

from html_checks import assert_self_contained
from vaekit.experiments import Report
from vaekit.viz import labelled_rows

HOSTILE = "<script>alert('x')</script>"


@dataclass(frozen=True)
class Settings:
    data_root: str = HOSTILE
    epochs: int = 3


def test_report_html_has_the_checks_tables_and_figures_of_report_md(tmp_path):
    report = Report(tmp_path, "toy", f"a claim with {HOSTILE}", Settings(), quick=True)
    report.check("error < 1", True, "0.5 < 1")
    report.check(f"{HOSTILE} holds", False, "it did not")
    report.table("Errors", ["model", "error"], [["AE", 0.123456], [HOSTILE, 2.0]])
    report.figure("noise", labelled_rows([("noise", torch.rand(3, 1, 8, 8))]), "a row of noise")
    report.write(seconds=1.0)
    page = assert_self_contained(tmp_path / "report.html")
    raw = (tmp_path / "report.html").read_text()
    assert "<script>" not in raw and page.text.count(HOSTILE) == 4  # claim, check, table cell, setting
    markdown = (tmp_path / "report.md").read_text()
    for shown in ("error < 1", "0.5 < 1", "it did not", "Errors", "0.1235", "a row of noise", "Claim.", "Settings"):
        assert shown in page.text and (shown in markdown or shown == "Settings"), shown
    rows = [attributes.get("class") for tag, attributes in page.tags if tag == "tr" and attributes]
    assert rows == ["held", "failed"] and len(page.images()) == 1
