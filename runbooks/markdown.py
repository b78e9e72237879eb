"""Render runbook Markdown to safe HTML: raw HTML shown as text, only safe link schemes."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_SAFE_URL = re.compile(r"^(https?:|mailto:|#|/(?!/)|\.{0,2}/|[\w.-]+(?:/|$))", re.IGNORECASE)


def _validate_link(url: str) -> bool:
    # markdown-it's default already refuses javascript:/vbscript:/data:; this narrows it to an allow-list.
    return bool(_SAFE_URL.match(url.strip()))


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
_md.validateLink = _validate_link


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML escaped and javascript:/data: links left as plain text."""
    return _md.render(text or "")
