"""A step's text as a responder reads it: prose, not Markdown.

Step texts keep the document's inline Markdown (backticks, **bold**, links) so nothing is lost; shown raw
they read '`kubectl` **now**'. `step_html` renders them safely: everything is escaped first, then code
spans become <code>, bold <strong>, links their label (a real link only for http and https), and a
paragraph that starts with '> ' (a caution the importer attached to the step) is shown as a caution.
No raw HTML from the document can pass: the only tags in the output are the ones written here.
"""

from __future__ import annotations

import re

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from runbooks.importer.inline import code_spans

_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_LINK = re.compile(r"!?\[([^\]\n]{0,500})\]\(\s*<?([^)\s>]{0,2000})>?(?:\s+&quot;[^)]*&quot;)?\s*\)")
_REFERENCE = re.compile(r"\[([^\]\n]{1,200})\]\[[^\]\n]{0,200}\]")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_SAFE_URL = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)


def step_html(text: str | None) -> SafeString:
    """The step text as HTML: paragraphs, cautions, code, bold and links; everything else escaped."""
    text = (text or "").strip()
    if not text:
        return mark_safe("")
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    parts: list[str] = []
    for paragraph in paragraphs:
        if paragraph.startswith(">"):
            words = " ".join(line.lstrip("> ").strip() for line in paragraph.split("\n"))
            parts.append(format_html('<span class="step-caution" role="note"><strong>Caution:</strong> {}</span>',
                                     inline_html(words)))
        else:
            parts.append(inline_html(" ".join(paragraph.split("\n"))))
    if len(parts) == 1:
        return mark_safe(parts[0])  # noqa: S308 - built from escaped pieces above
    return mark_safe("".join(f'<span class="step-para">{p}</span>' for p in parts))  # noqa: S308


def inline_html(text: str) -> SafeString:
    """One paragraph's inline Markdown as safe HTML (code spans kept verbatim, as <code>)."""
    out: list[str] = []
    pos = 0
    for span in code_spans(text):
        out.append(_words(text[pos : span.start]))
        out.append(format_html("<code>{}</code>", span.content))
        pos = span.end
    out.append(_words(text[pos:]))
    return mark_safe("".join(out))  # noqa: S308 - each piece is escaped or built by format_html


def _words(text: str) -> str:
    html = escape(text)
    html = _LINK.sub(_link, html)
    html = _REFERENCE.sub(r"\1", html)
    html = _BOLD.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", html)
    html = _ITALIC.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", html)
    return _ESCAPED.sub(r"\1", html)


def _link(match: re.Match) -> str:
    label, url = match.group(1), match.group(2).replace("&amp;", "&")
    if _SAFE_URL.match(url):
        # the label is already escaped (it comes from escape(text) above)
        return str(format_html('<a href="{}" rel="noopener noreferrer nofollow">{}</a>', url, mark_safe(label)))
    return label  # relative links point into the source document's site, not here
