"""What every HTML report must be: one file that opens offline, with no tag or link from user data."""
from __future__ import annotations

import base64
import io
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image


class ParsedPage(HTMLParser):
    """Tags with their attributes, and the visible text, of an HTML document."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.chunks: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def images(self) -> list[str]:
        return [attributes.get("src", "") for tag, attributes in self.tags if tag == "img"]


def assert_self_contained(path: Path) -> ParsedPage:
    """No script, link, frame, http(s) reference or file reference; every <img> a valid inlined PNG."""
    text = path.read_text(encoding="utf-8")
    page = ParsedPage(text)
    assert "http://" not in text and "https://" not in text
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "link", "iframe", "object", "embed", "base"}, names
    assert not any(key.startswith("on") for _, attributes in page.tags for key in attributes)
    for _, attributes in page.tags:
        for key in ("href", "src"):
            assert key not in attributes or attributes[key].startswith("data:image/png;base64,"), attributes
    for source in page.images():
        data = base64.b64decode(source.removeprefix("data:image/png;base64,"), validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        image = Image.open(io.BytesIO(data))
        image.verify()                                    # raises on a truncated or corrupt PNG
        assert image.format == "PNG" and min(image.size) > 0
    return page
