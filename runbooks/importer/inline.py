"""Inline Markdown helpers: code spans, "Label: value" lines, and plain words for titles and names.

Everything here runs in linear time on one line of a megabyte: no nested quantifiers, no backtracking
over unbounded runs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_TICKS = re.compile(r"`+")
_BOLD_LABEL = re.compile(r"^(\*\*)([^*\n]{1,80}?)\*\*[ \t]*(?::|-|–|—)?[ \t]*")
_BOLD_LABEL_COLON_INSIDE = re.compile(r"^(\*\*)([^*\n]{1,80}?):\*\*[ \t]*")
_PLAIN_LABEL = re.compile(r"^([A-Za-z][A-Za-z0-9 /&()'._-]{0,40}?)[ \t]*:[ \t]+(?=\S)")
_LINK = re.compile(r"!?\[([^\]\n]{0,500})\]\([^)\n]{0,2000}\)")
# Real HTML element names only: '<namespace>' and '<pod-name>' are placeholders a responder fills in.
_ELEMENTS = (
    "a|abbr|article|aside|audio|b|base|big|blockquote|body|br|button|center|code|del|details|div|em|embed|"
    "figcaption|figure|font|footer|form|frame|h[1-6]|head|header|hr|html|i|iframe|img|input|ins|kbd|label|li|"
    "link|main|mark|meta|nav|object|ol|option|p|pre|s|script|section|select|small|source|span|strike|strong|"
    "style|sub|summary|sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|title|tr|tt|u|ul|video"
)
_HTML_TAG = re.compile(rf"</?(?:{_ELEMENTS})\b[^<>\n]{{0,500}}>", re.IGNORECASE)
# Elements whose content is code or markup, never words for a responder: dropped with their content.
_HIDDEN = re.compile(
    r"<\s*(script|style|iframe|object|embed|template)\b[^>]{0,500}>[\s\S]{0,20000}?<\s*/\s*\1\s*>|"
    r"<\s*(?:script|style|iframe|object|embed|template)\b[^>]{0,500}>",
    re.IGNORECASE,
)
_UNSAFE_LINK = re.compile(
    r"!?\[([^\]\n]{0,500})\]\(\s*<?\s*(?:javascript|vbscript|data)\s*:(?:[^()\n]|\([^()\n]{0,200}\)){0,2000}\)",
    re.IGNORECASE,
)
_UNSAFE_AUTOLINK = re.compile(r"<\s*(?:javascript|vbscript|data)\s*:[^<>\n]{0,2000}>", re.IGNORECASE)
_EMPHASIS = re.compile(r"(\*\*|__|~~)")
# single-mark emphasis ('_On starting the day_', '*may*'), not the underscores of snake_case words
_SINGLE_EMPHASIS = re.compile(r"(?<![\w*_])([*_])(?=\S)([^*_\n]{1,300}?)(?<=\S)\1(?![\w*_])")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_MARKUP = re.compile(r"[\[<*_~`\\]")


@dataclass(frozen=True)
class CodeSpan:
    start: int  # index of the first backtick
    end: int  # index after the last backtick
    content: str  # what is between the backticks, one leading/trailing space removed as CommonMark does


def code_spans(text: str) -> list[CodeSpan]:
    """Backtick code spans of a line of inline Markdown, matched the CommonMark way (equal-length runs)."""
    if "`" not in text:
        return []
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(text)]
    # For each run, the index of the next run of the same length: one pass from the end, so it stays linear.
    next_same: list[int | None] = [None] * len(runs)
    last_seen: dict[int, int] = {}
    for n in range(len(runs) - 1, -1, -1):
        width = runs[n][1] - runs[n][0]
        next_same[n] = last_seen.get(width)
        last_seen[width] = n
    spans: list[CodeSpan] = []
    n = 0
    while n < len(runs):
        start, open_end = runs[n]
        if start > 0 and text[start - 1] == "\\":
            n += 1
            continue
        close = next_same[n]
        if close is None:
            n += 1
            continue
        close_start, end = runs[close]
        content = text[open_end:close_start].replace("\n", " ")
        if len(content) > 2 and content[0] == " " and content[-1] == " " and content.strip():
            content = content[1:-1]
        spans.append(CodeSpan(start, end, content))
        n = close + 1
    return spans


def collapse(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=16384)
def plain(text: str) -> str:
    """Inline Markdown to plain words: links keep their label, emphasis, backticks and tags go."""
    if not _MARKUP.search(text):  # most words carry no markup: skip the five substitutions
        return collapse(text)
    if "<" in text:
        text = _HIDDEN.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _EMPHASIS.sub("", text)
    if "_" in text or "*" in text:
        text = _SINGLE_EMPHASIS.sub(r"\2", text)
    text = text.replace("`", "")
    text = _ESCAPE.sub(r"\1", text)
    return collapse(text)


def safe_text(text: str) -> str:
    """Step or summary text without raw HTML: <script> and the like go with their content, other tags go
    and keep their words, javascript:/data: links keep only their label. Code spans are left as written."""
    if "<" not in text and ":" not in text:
        return text
    parts: list[str] = []
    pos = 0
    for span in code_spans(text):
        parts.append(_without_html(text[pos : span.start]))
        parts.append(text[span.start : span.end])
        pos = span.end
    parts.append(_without_html(text[pos:]))
    return collapse("".join(parts))


def _without_html(text: str) -> str:
    if "<" in text:
        text = _HIDDEN.sub("", text)
        text = _UNSAFE_AUTOLINK.sub("", text)
        text = _HTML_TAG.sub("", text)
    if ":" in text:
        text = _UNSAFE_LINK.sub(r"\1", text)
    return text


def strip_symbols(text: str) -> str:
    """Drop leading and trailing emoji and pictographs ('🚨 Disk full ✅' -> 'Disk full')."""
    start, end = 0, len(text)
    while start < end and _is_decoration(text[start]):
        start += 1
    while end > start and _is_decoration(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_decoration(char: str) -> bool:
    if char.isspace():
        return True
    category = unicodedata.category(char)
    # So: emoji and symbols; Mn/Cf: variation selectors and joiners that ride on them.
    return category in ("So", "Mn", "Cf", "Sk") or char in "\ufe0f\u200d\u00a0"


@dataclass(frozen=True)
class Label:
    label: str  # plain words of the label, without its colon
    rest: str  # the inline Markdown after the label
    bold: bool


@lru_cache(maxsize=16384)
def split_label(line: str, *, plain_labels: bool = True) -> Label | None:
    """'**Symptoms**: users see 502s' -> Label('Symptoms', 'users see 502s'); also 'Error Pattern: ...'."""
    line = line.strip()
    inside = _BOLD_LABEL_COLON_INSIDE.match(line)  # '**Summary:** text'
    match = inside or _BOLD_LABEL.match(line)
    if match:
        label = match.group(2).strip().rstrip(":").strip()
        rest = line[match.end() :].strip()
        # '**Do not restart the primary.**' is a warning in bold, not a label
        if not label or (not rest and label[-1:] in ".!?"):
            return None
        marked = inside or line[: match.end()].rstrip().endswith((":", "-", "–", "—"))
        if rest and not marked and rest[:1].isalnum():
            return None  # '**Use** the replica' is emphasis inside a sentence
        return Label(plain(label), rest, True)
    if plain_labels:
        match = _PLAIN_LABEL.match(line)
        if (
            match
            and not match.group(1).lower().endswith(("http", "https"))
            and len(match.group(1).split()) <= 5
        ):
            return Label(match.group(1).strip(), line[match.end() :].strip(), False)
    return None


def whole_bold(text: str) -> str | None:
    """The words of a paragraph that is nothing but bold ('**Scenario A: disk**'), else None."""
    text = text.strip()
    for mark in ("**", "__"):
        if len(text) > 4 and text.startswith(mark) and text.endswith(mark) and mark not in text[2:-2]:
            return text[2:-2].strip()
    return None
