"""Text to the text markdown-it reads: one pass over the lines, every rewrite keeping the line count.

Static-site generators and wikis wrap Markdown in syntax of their own. Each is rewritten here into plain
CommonMark so the section tree sees what the reader sees, and line numbers in warnings stay true:

- `<details>` / `<summary>` wrappers become a block quote opened by `[!DETAILS] summary`: background a
  responder may open, read by what it holds (an instruction inside it is still an instruction).
- MkDocs admonitions (`!!! warning "Title"` over an indented body) and Hugo notice shortcodes
  (`{{% notice warning %}} ... {{% /notice %}}`) become GitHub alerts (`> [!WARNING] Title`).
- lines that only hold a template tag (`{{< figure >}}`, `{% include %}`, `<% if x %>`) become blank;
  ERB output tags (`<%= ... %>`) are kept for the block reader, which understands some of them.
- `<div>`/`<section>` wrapper lines become blank, so what they wrap is read as Markdown.
- lists and quotes nested deeper than markdown-it can follow are flattened (markdown-it stops reading
  the rest of the document at its nesting limit); their words are kept and a warning says where.

It also says where a big document may be cut into pieces parsed one at a time (before headings and
before paragraphs that follow a blank line, outside fences), and cuts tables longer than MAX_TABLE_ROWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHUNK = 256 * 1024  # documents bigger than this are parsed a piece at a time
MAX_TABLE_ROWS = 5000
MAX_PREFIX = 48  # columns of list/quote markers and indentation kept in front of a line's words
MAX_QUOTES = 10  # '>' markers kept in front of a line's words

_WRAPPER_LINE = re.compile(r" {0,3}(?:</?\s*(?:div|section|article|center|p|span)\b[^<>]*>[ \t]*)+", re.I)
_DETAILS_OPEN = re.compile(
    r" {0,3}<details\b[^<>]*>[ \t]*(?:<summary\b[^<>]*>([^<>]*)</summary>)?[ \t]*", re.I
)
_SUMMARY_ONLY = re.compile(r" {0,3}<summary\b[^<>]*>([^<>]*)</summary>[ \t]*", re.I)
_DETAILS_CLOSE = re.compile(r" {0,3}</details\s*>[ \t]*", re.I)
_ADMONITION = re.compile(r" {0,3}(?:!!!|\?\?\?\+?)[ \t]+([A-Za-z][\w-]*)(?:[ \t]+\"([^\"\n]*)\")?[ \t]*")
_NOTICE_OPEN = re.compile(
    r" {0,3}\{\{[<%]\s*(?:notice|hint|alert|callout|admonition|note|warning|tip)\b\s*([A-Za-z]*)[^}]*[>%]\}\}[ \t]*",
    re.I,
)
_NOTICE_CLOSE = re.compile(
    r" {0,3}\{\{[<%]\s*/\s*(?:notice|hint|alert|callout|admonition|note|warning|tip)\s*[>%]\}\}[ \t]*", re.I
)
_TEMPLATE_LINE = re.compile(
    r" {0,3}(?:\{\{[<%].*?[>%]\}\}|\{%-?.*?-?%\}|<%(?!=).*?%>|\{\{!--.*?--\}\})[ \t]*"
)
_CONTAINER_PREFIX = re.compile(r"(?:[ \t]|>|[-*+][ \t]|\d{1,9}[.)][ \t])+")


@dataclass
class Prepared:
    text: str  # what markdown-it reads: same lines as the document
    cuts: list[int] = field(default_factory=list)  # 0-based lines before which a big document may be cut
    notes: list[str] = field(default_factory=list)  # warnings for the person importing


def prepare(text: str, starts: list[int]) -> Prepared:
    """One pass over the lines of `text` (whose line start offsets are `starts`)."""
    return _Pass(text, starts).run()


_CONTAINER_CHARS = " \t>-*+0123456789.)"


def _plain_line(text: str, start: int) -> bool:
    """A line starting with a space or a list marker that needs no rewrite: no fence, wrapper or
    admonition opens it within three spaces, and its markers and indentation are not too deep."""
    probe = text[start : start + MAX_PREFIX + 1]
    words = probe.lstrip(_CONTAINER_CHARS)
    if not words or probe.count(">") > MAX_QUOTES:
        return "\n" in probe[: len(probe) - len(words)]  # a blank or short line ends before the words
    indent = len(probe) - len(probe.lstrip(" "))
    return not (indent <= 3 and words[:1] in ("`", "~", "<", "!", "?", "{") and probe.lstrip(" ")[:1] in "`~<!?{")


def _front_matter_end(text: str, starts: list[int]) -> int:
    """The 0-based line closing a leading YAML front matter block, or -1 when there is none."""
    if not text.startswith("---") or text[3:4] not in ("\n", " ", "\t", ""):
        return -1
    for n in range(1, min(len(starts), 2000)):
        start = starts[n]
        if text.startswith(("---", "..."), start) and not text[start + 3 : start + 4].strip():
            return n
    return -1


class _Pass:
    def __init__(self, text: str, starts: list[int]):
        self.text = text
        self.starts = starts
        self.count = len(starts)
        self.pieces: list[str] = []
        self.done = 0  # text[:done] is in pieces already
        self.notes: list[str] = []
        self.cuts: list[int] = []
        self.big = len(text) > CHUNK
        self.chunk_start = 0
        self.quote_depth = 0  # <details> and admonitions open, as block quotes
        self.admonition_indent = 0  # the body indentation of an open MkDocs admonition, 0 when none
        self.notice_open = False
        self.flattened = False
        self.overflow = 0  # <details> opened deeper than MAX_QUOTES, not nested further

    # --- helpers ----------------------------------------------------------------------------------------

    def line(self, n: int) -> tuple[int, int, str]:
        start = self.starts[n]
        end = self.starts[n + 1] - 1 if n + 1 < self.count else len(self.text)
        return start, end, self.text[start:end]

    def replace(self, start: int, end: int, new: str) -> None:
        self.pieces.append(self.text[self.done : start])
        self.pieces.append(new)
        self.done = end

    def maybe_cut(self, n: int, start: int) -> None:
        if self.big and start - self.chunk_start >= CHUNK and not self.quote_depth and not self.notice_open:
            self.cuts.append(n)
            self.chunk_start = start

    # --- the pass ---------------------------------------------------------------------------------------

    def run(self) -> Prepared:
        text, starts = self.text, self.starts
        fence = ""
        fence_quoted = False
        front_matter_end = _front_matter_end(text, starts)
        comment = False
        last_row, rows = -2, 0
        for n in range(self.count):
            start = starts[n]
            first = text[start : start + 1]
            if n <= front_matter_end:
                continue  # YAML front matter is read as YAML, never rewritten
            if not fence and not comment and not self.quote_depth and not self.notice_open:
                if first not in " \t`~<#|>!?{-*+0123456789":
                    # most lines: nothing to rewrite; a big headingless document may be cut at a paragraph
                    # that follows a blank line (not a list item, not indented): that always begins a new block
                    if self.big and n and start - starts[n - 1] == 1 and first.isalpha():
                        self.maybe_cut(n, start)
                    continue
                if first in "-*+0123456789 \t" and _plain_line(text, start):
                    continue  # a list item or an indented line: only a very deep prefix needs a look
            start, end, line = self.line(n)
            if fence:
                body = line[2:] if fence_quoted and line.startswith("> ") else line
                stripped = body.strip()
                if stripped.startswith(fence) and not stripped.strip(fence[0]):
                    fence = ""
                if self.quote_depth or self.notice_open:
                    self.quote_line(n, start, end, line)
                continue
            if comment:
                if "-->" in line:
                    comment = False
                continue
            bare = line.lstrip(" ")
            if self.admonition_indent and not self.in_admonition(n, line):
                self.admonition_indent = 0
                self.quote_depth -= 1
            if bare[:3] in ("```", "~~~") and len(line) - len(bare) <= 3 + 4 * bool(self.admonition_indent):
                fence = bare[: len(bare) - len(bare.lstrip(bare[0]))]
                fence_quoted = bool(self.quote_depth or self.notice_open)
                if fence_quoted:
                    self.quote_line(n, start, end, line)
                continue
            if bare.startswith("<!--") and "-->" not in bare[4:]:
                comment = True
                continue
            if self.rewrite_wrappers(n, start, end, line):
                continue
            if first == "#" and not self.quote_depth:
                self.maybe_cut(n, start)
            if first == "|":
                rows = rows + 1 if n == last_row + 1 else 1
                last_row = n
                if rows > MAX_TABLE_ROWS + 2:  # the header and its delimiter line are not rows
                    self.replace(start, end, "")
                    if rows == MAX_TABLE_ROWS + 3:
                        self.notes.append(
                            f"a table on line {n - rows + 2} has more than {MAX_TABLE_ROWS} rows; "
                            "only the first were read"
                        )
                    continue
            if self.quote_depth or self.notice_open:
                self.quote_line(n, start, end, line)
            else:
                self.flatten(n, start, end, line)
        if not self.pieces:
            return Prepared(text, self.cuts, self.notes)
        self.pieces.append(text[self.done :])
        return Prepared("".join(self.pieces), self.cuts, self.notes)

    def rewrite_wrappers(self, n: int, start: int, end: int, line: str) -> bool:
        """<details>, admonitions, notices, template tags and wrapper lines; True when the line was one."""
        stripped = line.strip()
        if not stripped:
            if self.quote_depth or self.notice_open:
                self.quote_line(n, start, end, line)
                return True
            return False
        opened = _DETAILS_OPEN.fullmatch(line)
        if opened:
            if self.quote_depth >= MAX_QUOTES:  # <details> inside ten others: read as the one around it
                self.overflow += 1
                self.replace(start, end, self.prefix())
                return True
            words = " ".join((opened.group(1) or "").split())
            self.replace(start, end, self.prefix() + ("> [!DETAILS] " + words).rstrip())
            self.quote_depth += 1
            return True
        summary = _SUMMARY_ONLY.fullmatch(line)
        if summary and self.quote_depth:
            words = " ".join(summary.group(1).split())
            self.replace(start, end, self.prefix() + (f"**{words}**" if words else ""))
            return True
        if _DETAILS_CLOSE.fullmatch(line):
            if self.overflow:
                self.overflow -= 1
            elif self.quote_depth:
                self.quote_depth -= 1
            self.replace(start, end, self.prefix())
            return True
        admonition = _ADMONITION.fullmatch(line)
        if admonition and not self.admonition_indent:
            kind = admonition.group(1).upper()
            title = " ".join((admonition.group(2) or "").split())
            self.replace(start, end, self.prefix() + f"> [!{kind}] {title}".rstrip())
            self.quote_depth += 1
            self.admonition_indent = 4
            return True
        notice = _NOTICE_OPEN.fullmatch(line)
        if notice and not self.notice_open:
            kind = (notice.group(1) or "note").upper()
            self.replace(start, end, self.prefix() + f"> [!{kind}]")
            self.notice_open = True
            return True
        if _NOTICE_CLOSE.fullmatch(line) and self.notice_open:
            self.notice_open = False
            self.replace(start, end, self.prefix())
            return True
        if _TEMPLATE_LINE.fullmatch(line) or _WRAPPER_LINE.fullmatch(line):
            self.replace(start, end, self.prefix() if (self.quote_depth or self.notice_open) else "")
            if not (self.quote_depth or self.notice_open):
                self.maybe_cut(n, start)  # what the wrapper holds starts a new block
            return True
        return False

    def in_admonition(self, n: int, line: str) -> bool:
        """Is this line still part of the open MkDocs admonition's indented body?"""
        if line.startswith(("    ", "\t")):
            return True
        if line.strip():
            return False
        for k in range(n + 1, min(n + 50, self.count)):  # a blank line: inside when indented text follows
            _, _, nxt = self.line(k)
            if nxt.strip():
                return nxt.startswith(("    ", "\t"))
        return False

    def prefix(self) -> str:
        return "> " * (self.quote_depth - (1 if self.admonition_indent else 0)) if self.quote_depth else ""

    def quote_line(self, n: int, start: int, end: int, line: str) -> None:
        if self.admonition_indent:
            body = line[4:] if line.startswith("    ") else line.lstrip("\t") if line.startswith("\t") else line
            outer = "> " * (self.quote_depth - 1)
            self.replace(start, end, f"{outer}> {body}".rstrip() if body.strip() else f"{outer}>")
            return
        depth = self.quote_depth + (1 if self.notice_open else 0)
        self.replace(start, end, ("> " * depth + line).rstrip() if line.strip() else ">" * depth)

    def flatten(self, n: int, start: int, end: int, line: str) -> None:
        """Cut a run of list/quote markers that markdown-it could not follow down to one it can."""
        if len(line) < MAX_PREFIX and line.count(">", 0, MAX_PREFIX) <= MAX_QUOTES:
            return
        prefix = _CONTAINER_PREFIX.match(line)
        if prefix is None:
            return
        marks = prefix.group(0)
        if len(marks) <= MAX_PREFIX and marks.count(">") <= MAX_QUOTES:
            return
        kept = marks[-MAX_PREFIX:] if len(marks) > MAX_PREFIX else marks
        if kept.count(">") > MAX_QUOTES:
            kept = kept.replace(">", "", kept.count(">") - MAX_QUOTES)
        self.replace(start, end, kept + line[len(marks) :])
        if not self.flattened:
            self.flattened = True
            self.notes.append(
                f"lists or quotes nested too deep to follow (from line {n + 1}) were flattened; "
                "their text was kept"
            )
