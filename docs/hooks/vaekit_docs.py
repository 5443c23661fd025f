"""MkDocs hook: fills generated sections of the documentation at build time, so they never go stale.

- ``<!-- vaekit:cli-help -->`` becomes the ``--help`` text of ``vaekit`` and of every subcommand, read from
  :func:`vaekit.cli.build_parser` (nothing runs but the parser's formatter).
- ``<!-- vaekit:api PACKAGE -->`` becomes mkdocstrings blocks (``::: NAME``) for the package's own members and
  for each of its modules and subpackages, found on disk: a new module is documented without editing a page, and
  the names a package re-exports are documented once, in the module that defines them.
- In table rows, ``\\|`` inside a code span becomes ``|``: GitHub needs the escape there to keep the cell, Python-Markdown
  keeps code spans whole and would print the backslash.
- ``<!-- vaekit:bench-readme -->`` becomes ``bench/README.md`` without its title; its links into the
  documentation (``../docs/NAME.md``) are rewritten to the site's pages (``NAME.md``).
"""
from __future__ import annotations

import argparse
import ast
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src"
CLI_MARKER = "<!-- vaekit:cli-help -->"
CODE_SPAN = re.compile(r"`[^`]*`")
API_MARKER = re.compile(r"<!-- vaekit:api ([\w.]+) -->")
BENCH_MARKER = "<!-- vaekit:bench-readme -->"
HELP_COLUMNS = "100"


def cli_reference() -> str:
    """Markdown: one section per command, each holding its argparse help text as printed by ``--help``."""
    previous_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS   # argparse wraps at the terminal width: fix it for a stable page
    try:
        from vaekit.cli import build_parser

        parser = build_parser()
        sections = [("vaekit", parser.format_help())]
        subcommands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
        sections += [(command.prog, command.format_help()) for command in subcommands.choices.values()]
    finally:
        if previous_columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous_columns
    return "\n".join(f"### `{prog}`\n\n```text\n{text.rstrip()}\n```\n" for prog, text in sections)


def own_members(init_file: Path) -> list[str]:
    """Public names a package's ``__init__.py`` defines itself (not the ones it imports)."""
    names = []
    for node in ast.parse(init_file.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [target.id for target in targets if isinstance(target, ast.Name)]
    return [name for name in names if not name.startswith("_")]


def api_reference(package: str, page_root: bool = True) -> str:
    """``::: package`` with its own members only, then the same for every module and subpackage in it.

    The page's own package gets no heading of its own (the page title names it); nested packages do.
    """
    folder = SOURCE.joinpath(*package.split("."))
    members = own_members(folder / "__init__.py")
    blocks = [f"::: {package}\n    options:\n      show_submodules: false\n"
              f"      show_root_heading: {'false' if page_root else 'true'}\n"
              f"      members: {members if members else 'false'}\n"]
    for path in sorted(folder.iterdir()):
        if path.name.startswith("_"):
            continue
        if path.suffix == ".py":
            blocks.append(f"::: {package}.{path.stem}\n    options:\n      show_submodules: false\n")
        elif (path / "__init__.py").is_file():
            blocks.append(api_reference(f"{package}.{path.name}", page_root=False))
    return "\n".join(blocks)


def bench_readme() -> str:
    """``bench/README.md`` without its first-level title, with ``../docs/`` links pointing at site pages."""
    text = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"\A# [^\n]*\n", "", text)
    return re.sub(r"\]\(\.\./docs/", "](", text)


def unescape_table_code_pipes(markdown: str) -> str:
    """``\\|`` → ``|`` inside the code spans of table rows (lines starting with ``|``), outside fenced blocks."""
    lines, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("|"):
            line = CODE_SPAN.sub(lambda match: match.group(0).replace("\\|", "|"), line)
        lines.append(line)
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    markdown = API_MARKER.sub(lambda match: api_reference(match.group(1)), markdown)
    if BENCH_MARKER in markdown:
        markdown = markdown.replace(BENCH_MARKER, bench_readme())
    return unescape_table_code_pipes(markdown)
