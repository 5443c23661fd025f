"""The documentation site builds with ``mkdocs build --strict``: a broken link, a page missing from the nav,
a broken mkdocstrings reference or a docstring griffe cannot parse fails here. Also checked: the generated
command-line reference holds every subcommand, the site loads nothing from the network, every experiment
report folder has its page, and README.md's relative links point at files that exist."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("material", reason="mkdocs-material is not installed: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings_handlers.python", reason="mkdocstrings[python] is not installed: "
                                                           "pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                             str(ROOT / "mkdocs.yml"), "--site-dir", str(site_dir)],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    problems = [line for line in result.stderr.splitlines() if not line.startswith("INFO")]
    assert result.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(problems[-40:])
    return site_dir


def test_the_site_builds_strictly_with_every_page(site):
    for page in ("index.html", "getting-started/index.html", "cli/index.html", "api/objectives/index.html",
                 "experiments/index.html", "benchmark-scripts/index.html", "serve-screenshot.png"):
        assert (site / page).is_file(), page


def test_the_command_line_reference_is_generated_from_the_parser(site):
    from vaekit.cli import build_parser

    page = (site / "cli" / "index.html").read_text()
    subcommands = next(action for action in build_parser()._actions if hasattr(action, "choices")
                       and isinstance(action.choices, dict)).choices
    for name in subcommands:
        assert f"usage: vaekit {name}" in page, name


def test_the_api_reference_documents_each_function_once_where_it_is_defined(site):
    page = (site / "api" / "objectives" / "index.html").read_text()
    assert 'id="vaekit.objectives.iwae.iwae_bound"' in page
    assert 'id="vaekit.objectives.iwae_bound"' not in page   # the package's re-export is not a second copy


def test_the_site_loads_nothing_from_the_network(site):
    remote = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)
    for page in site.rglob("*.html"):
        assert not remote.search(page.read_text()), f"{page.relative_to(site)} loads a remote resource"


def test_every_experiment_report_folder_has_a_page():
    experiments = ROOT / "docs" / "experiments"
    nav = (ROOT / "mkdocs.yml").read_text()
    for folder in sorted(path for path in experiments.iterdir() if (path / "report.md").is_file()):
        assert (experiments / f"{folder.name}.md").is_file(), f"docs/experiments/{folder.name}.md is missing"
        assert f"experiments/{folder.name}.md" in nav, f"experiments/{folder.name}.md is not in the nav"


def test_readme_links_point_at_existing_files():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets
    for target in targets:
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        assert (ROOT / target.split("#")[0]).exists(), f"README.md links to {target}, which does not exist"
