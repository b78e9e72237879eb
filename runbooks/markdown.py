"""Render runbook Markdown to safe HTML: raw HTML shown as text, only safe link schemes."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

# A scheme on the list, a fragment, a path on this site ("/x", not "//host" or "/\\host", which browsers read as
# another host), a relative path ("./x", "../x", "x/y"). Nothing else is a link.
_SAFE_URL = re.compile(r"^(https?:|mailto:|#|/(?![/\\])|\.{1,2}/|[\w.-]+(?:/|$))", re.IGNORECASE)
_UNSAFE_CHARACTERS = re.compile(r"[\\\x00-\x20\x7f]")  # browsers drop tabs and newlines: "/\t/host" is "//host"


def _validate_link(url: str) -> bool:
    # markdown-it's default already refuses javascript:/vbscript:/data:; this narrows it to an allow-list.
    url = url.strip()
    return bool(_SAFE_URL.match(url)) and not _UNSAFE_CHARACTERS.search(url)


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
_md.validateLink = _validate_link


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML escaped and javascript:/data: links left as plain text."""
    return _md.render(text or "")
