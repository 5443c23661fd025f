"""Self-contained HTML pages: every text escaped, PNGs inlined as ``data:`` URIs, CSS inline, no script.

Each block returns an HTML fragment; ``page`` wraps fragments into one document that opens offline.
"""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tr.held td:last-child { background: #e3f4e3; } tr.failed td:last-child { background: #f9dcdc; font-weight: bold; }
figure { margin: 1rem 0; } img { max-width: 100%; } figcaption { font-style: italic; color: #555; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
.note { color: #666; }
"""


def page(title: str, blocks: list[str]) -> str:
    """A complete UTF-8 HTML document titled ``title`` whose body is ``blocks`` (fragments of this module)."""
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
                      heading(title, 1), *blocks, "</body>", "</html>", ""])


def heading(text: str, level: int = 2) -> str:
    return f"<h{level}>{escape(text)}</h{level}>"


def paragraph(text: str, css_class: str | None = None) -> str:
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    return f"<p{attribute}>{escape(text)}</p>"


def preformatted(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def table(header: list[str], rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    """A table of text cells; ``row_classes`` (e.g. "held", "failed") style whole rows."""
    classes = row_classes or [""] * len(rows)
    lines = ["<table>", "<tr>" + "".join(f"<th>{escape(str(cell))}</th>" for cell in header) + "</tr>"]
    for row, css_class in zip(rows, classes):
        attribute = f' class="{escape(css_class)}"' if css_class else ""
        lines.append(f"<tr{attribute}>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>")
    return "\n".join(lines + ["</table>"])


def png_figure(path: str | Path, caption: str) -> str:
    """The PNG file at ``path`` inlined as ``data:image/png;base64,...`` with ``caption`` below it."""
    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{path} is not a PNG file")
    source = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return (f'<figure><img src="{source}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")
