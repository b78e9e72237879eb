"""Markdown text to a section tree: each heading holds its blocks (paragraphs, lists, code, tables) and its
sub-headings. Recognisers read this tree, never raw tokens, so a new document style only needs a new
recogniser.

markdown-it's inline pass is switched off: it is half the parse time on big documents and the importer only
needs code spans, which `runbooks.importer.inline` finds itself in linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from runbooks.importer.prepare import prepare

MAX_FRONT_MATTER = 64 * 1024
MAX_HTML_DEPTH = 3
MAX_NESTING = 100  # prepare.py flattens deeper lists and quotes, so markdown-it never stops reading early

_CHECKBOX = re.compile(r"^\[([ xX])\][ \t]+")
_STEP_TITLE = re.compile(r"^\s*step\s*\d+[a-z]?\b", re.IGNORECASE)
_DANGEROUS_HTML = re.compile(r"<\s*(script|iframe|object|embed|style|form)\b", re.IGNORECASE)
_WRAPPER_TAG = re.compile(
    r"</?\s*(details|div|span|section|article|p|br|hr|center|font|b|i|em|strong)\b[^>]*>", re.I
)
_SUMMARY = re.compile(r"<\s*summary\b[^>]*>(.*?)<\s*/\s*summary\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _markdown() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark", {"html": True, "linkify": False, "typographer": False, "maxNesting": MAX_NESTING}
    )
    md.enable(["table", "strikethrough"]).use(front_matter_plugin)
    md.disable(["inline", "text_join"])  # text_join only tidies what the inline pass makes
    # (definition lists, 'Term' over ': value', are read from paragraphs by the step reader: the plugin
    # would cost a fifth of the parse time of every document for a form few runbooks use)
    return md


_MD = _markdown()


@dataclass(kw_only=True, slots=True)
class Block:
    line: int  # 1-based line of the document where the block starts
    claimed: bool = False  # set by the recogniser that turned this block into something


@dataclass(kw_only=True, slots=True)
class Paragraph(Block):
    text: str  # the inline Markdown source, lines joined with "\n"
    quoted: bool = False  # written inside a block quote: a note, not an instruction


@dataclass(kw_only=True, slots=True)
class Code(Block):
    text: str
    language: str | None = None  # the fence's info word; None for indented code and bare fences
    fenced: bool = True


@dataclass(kw_only=True, slots=True)
class ListItem(Block):
    blocks: list[Block] = field(default_factory=list)
    checkbox: bool = False  # written as "[ ]" or "[x]"
    checked: bool = False

    @property
    def text(self) -> str:
        """The item's own words: its first paragraph, checkbox marker removed."""
        first = self.blocks[0] if self.blocks else None
        return first.text if isinstance(first, Paragraph) else ""


@dataclass(kw_only=True, slots=True)
class ListBlock(Block):
    ordered: bool
    items: list[ListItem] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class Table(Block):
    header: list[str]
    rows: list[list[str]]


@dataclass(kw_only=True, slots=True)
class Html(Block):
    text: str


@dataclass(kw_only=True, slots=True)
class Quote(Block):
    """A block quote, a GitHub alert ('> [!WARNING]'), an admonition or a <details> block (see prepare.py)."""

    blocks: list[Block] = field(default_factory=list)




@dataclass(kw_only=True, slots=True)
class Section:
    level: int  # 0 for the document itself, 1-6 for headings
    title: str  # the heading's inline Markdown source
    line: int  # 1-based line of the heading (1 for the document)
    end_line: int = 0  # 1-based line after the section's last line, children included
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    parent: Section | None = field(default=None, repr=False)

    def walk(self):
        """This section and every section below it, in document order."""
        stack = [self]
        while stack:
            section = stack.pop()
            yield section
            stack.extend(reversed(section.children))


@dataclass
class Tree:
    root: Section
    text: str
    front_matter: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    line_starts: list[int] = field(default_factory=list)

    @property
    def front_matter_alert(self) -> bool:
        """The front matter names an alert: the file is that alert's runbook, however it is written."""
        return any(self.front_matter.get(k) for k in ("alert", "alertname", "alert_name", "alarm"))

    def source(self, start_line: int, end_line: int) -> str:
        """The document's text from start_line up to (not including) end_line, both 1-based."""
        starts = self.line_starts
        begin = starts[min(start_line, len(starts)) - 1]
        end = starts[end_line - 1] if end_line - 1 < len(starts) else len(self.text)
        return self.text[begin:end]


class _Builder:
    def __init__(self, tree: Tree):
        self.tree = tree
        self.warned: set[str] = set()
        # what the tokens being read were parsed from: the document, a piece of it, or an HTML block's inside
        self.text: str = tree.text
        self.starts: list[int] | None = tree.line_starts
        self.line_count = _line_count(tree.text)
        self.closing: dict[int, int] = {}
        self.step_level = 0

    def warn(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            self.tree.warnings.append(message)

    def blocks(
        self,
        tokens: list[Token],
        start: int,
        stop: int,
        offset: int,
        depth: int,
        quoted: bool = False,
        sections: list[Section] | None = None,
    ) -> list[Block]:
        """Turn tokens[start:stop] into blocks; headings open sections when `sections` (a stack) is given."""
        out: list[Block] = sections[-1].blocks if sections else []
        i = start
        while i < stop:
            tok = tokens[i]
            line = (tok.map[0] if tok.map else 0) + offset + 1
            kind = tok.type
            if kind == "heading_open":
                title = tokens[i + 1].content.strip()
                if sections is None:
                    out.append(Paragraph(text=f"**{title}**" if title else "", line=line, quoted=quoted))
                else:
                    level = self._level(int(tok.tag[1]), title)
                    while sections[-1].level >= level:
                        sections.pop()
                    section = Section(level=level, title=title, line=line, parent=sections[-1])
                    sections[-1].children.append(section)
                    sections.append(section)
                    out = section.blocks
                i += 3
            elif kind == "paragraph_open":
                out.append(Paragraph(text=tokens[i + 1].content, line=line, quoted=quoted))
                i += 3
            elif kind in ("fence", "code_block"):
                out.append(self._code(tok, line))
                i += 1
            elif kind in ("bullet_list_open", "ordered_list_open"):
                close = self.closing[i]
                out.append(self._list(tokens, i, close, offset, depth, quoted))
                i = close + 1
            elif kind == "blockquote_open":
                close = self.closing[i]
                out.append(Quote(line=line, blocks=self.blocks(tokens, i + 1, close, offset, depth, quoted=True)))
                i = close + 1

            elif kind == "table_open":
                close = self.closing[i]
                out.append(_table(tokens, i, close, line))
                i = close + 1
            elif kind == "html_block":
                out.extend(self._html(tok.content, line, depth, quoted))
                i += 1
            else:  # hr, front_matter, reference definitions: nothing to keep
                i += 1
        return out

    def _level(self, level: int, title: str) -> int:
        """A 'Step N' heading takes the level of the 'Step N' heading before it: '# Step 5' written among
        '### Step 1..4' is a slip of the pen, not a new document."""
        if _STEP_TITLE.match(title):
            if self.step_level and level < self.step_level:
                return self.step_level
            self.step_level = level
        return level

    def _code(self, tok: Token, line: int) -> Code:
        if tok.type == "code_block":
            return Code(text=tok.content, language=None, fenced=False, line=line)
        language = tok.info.strip().split()[0].strip("{}.").lower() if tok.info.strip() else None
        if tok.map and not self._fence_closed(tok):
            self.warn(
                f"a code block opened on line {line} is never closed: everything after it was read as code"
            )
        return Code(text=tok.content, language=language or None, fenced=True, line=line)

    def _list(
        self, tokens: list[Token], start: int, stop: int, offset: int, depth: int, quoted: bool
    ) -> ListBlock:
        head = tokens[start]
        block = ListBlock(
            ordered=head.type == "ordered_list_open", line=(head.map[0] if head.map else 0) + offset + 1
        )
        i = start + 1
        while i < stop:
            if tokens[i].type != "list_item_open":
                i += 1
                continue
            close = self.closing[i]
            item_line = (tokens[i].map[0] if tokens[i].map else 0) + offset + 1
            item = ListItem(line=item_line, blocks=self.blocks(tokens, i + 1, close, offset, depth, quoted))
            first = item.blocks[0] if item.blocks else None
            if isinstance(first, Paragraph):
                match = _CHECKBOX.match(first.text)
                if match:
                    item.checkbox, item.checked = True, match.group(1) != " "
                    first.text = first.text[match.end() :]
            block.items.append(item)
            i = close + 1
        return block

    def _html(self, html: str, line: int, depth: int, quoted: bool) -> list[Block]:
        """Raw HTML is never kept; what a <details> or <div> wraps is Markdown and is read as such."""
        dangerous = _DANGEROUS_HTML.search(html)
        if dangerous:
            self.warn(
                f"raw <{dangerous.group(1).lower()}> HTML on line {line} was removed; it is never imported"
            )
            return []
        inner = _COMMENT.sub("", html)
        inner = _SUMMARY.sub(lambda m: f"\n**{' '.join(m.group(1).split())}**\n", inner)
        inner = _WRAPPER_TAG.sub("\n", inner)
        if not inner.strip() or depth >= MAX_HTML_DEPTH or "<" in inner and inner.strip().startswith("<"):
            return []
        saved = self.text, self.starts, self.closing, self.line_count
        tokens = _MD.parse(inner)
        self.text, self.starts, self.closing = inner, _line_starts(inner), _closings(tokens)
        self.line_count = _line_count(inner)
        try:
            return self.blocks(tokens, 0, len(tokens), line - 1, depth + 1, quoted)
        finally:
            self.text, self.starts, self.closing, self.line_count = saved

    def _fence_closed(self, tok: Token) -> bool:
        if tok.map[1] < self.line_count:
            return True  # something follows it, so its closing line was found
        if self.starts is None:
            self.starts = _line_starts(self.text)
        last = tok.map[1] - 1  # 0-based index of the fence's last line
        if last <= tok.map[0] or last >= len(self.starts):
            return False
        end = self.starts[last + 1] if last + 1 < len(self.starts) else len(self.text)
        closing = self.text[self.starts[last] : end].strip()
        return len(closing) >= len(tok.markup) and set(closing) == {tok.markup[0]}


def _closings(tokens: list[Token]) -> dict[int, int]:
    """For each opening token's index, the index of the token closing it: one pass, not one per opening."""
    closing: dict[int, int] = {}
    stack: list[int] = []
    for n, tok in enumerate(tokens):
        if tok.nesting == 1:
            stack.append(n)
        elif tok.nesting == -1 and stack:
            closing[stack.pop()] = n
    for n in stack:  # never closed (should not happen): close at the end
        closing[n] = len(tokens) - 1
    return closing


def _table(tokens: list[Token], start: int, stop: int, line: int) -> Table:
    header: list[str] = []
    rows: list[list[str]] = []
    row: list[str] | None = None
    in_head = False
    for tok in tokens[start:stop]:
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(tok.content.strip())
        elif tok.type == "tr_close" and row is not None:
            if in_head:
                header = row
            else:
                rows.append(row)
            row = None
    return Table(header=header, rows=rows, line=line)


def _line_count(text: str) -> int:
    """Lines as markdown-it counts them: a final newline does not open another line."""
    return text.count("\n") + (not text.endswith("\n"))


def _offset(starts: list[int], line: int) -> int | None:
    return starts[line] if line < len(starts) else None


def _line_starts(text: str) -> list[int]:
    starts = [0]
    find = text.find
    pos = find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = find("\n", pos + 1)
    return starts


def build_tree(text: str) -> Tree:
    """Parse Markdown text into a Tree of Sections; front matter is read as YAML into `front_matter`."""
    root = Section(level=0, title="", line=1)
    tree = Tree(root=root, text=text, line_starts=_line_starts(text))
    builder = _Builder(tree)
    sections = [root]
    prepared = prepare(text, tree.line_starts)
    for note in prepared.notes:
        builder.warn(note)
    readable = prepared.text
    # same lines as the text, but not the same offsets where a line was rewritten
    starts = tree.line_starts if readable is text else _line_starts(readable)
    bounds = [0, *prepared.cuts, len(starts)]
    for first_line, end_line in zip(bounds, bounds[1:], strict=False):
        chunk = readable if len(bounds) == 2 else readable[starts[first_line] : _offset(starts, end_line)]
        tokens = _MD.parse(chunk)
        builder.text, builder.starts, builder.closing = chunk, None, _closings(tokens)
        builder.line_count = _line_count(chunk)
        if first_line == 0 and tokens and tokens[0].type == "front_matter":
            tree.front_matter = _front_matter(tokens[0].content, builder)
        builder.blocks(tokens, 0, len(tokens), first_line, 0, sections=sections)
        del tokens  # one chunk's tokens at a time: they are most of the memory a big document needs
    _close_sections(root, len(tree.line_starts) + 1)
    return tree


def _front_matter(content: str, builder: _Builder) -> dict:
    if len(content) > MAX_FRONT_MATTER:
        builder.warn("the YAML front matter is too big to be metadata; it was ignored")
        return {}
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 2})" if where is not None else ""
        builder.warn(f"the YAML front matter could not be read{at}; it was ignored")
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        builder.warn("the YAML front matter is not a mapping of names to values; it was ignored")
        return {}
    return {str(k).strip().lower().replace("-", "_").replace(" ", "_"): v for k, v in data.items()}


def _close_sections(root: Section, doc_end: int) -> None:
    """Give every section its end line: where the next heading of the same or a higher level starts."""
    stack = [(root, doc_end)]
    while stack:  # iterative: a document of thousands of headings must not hit the recursion limit
        section, end = stack.pop()
        section.end_line = end
        kids = section.children
        for n, child in enumerate(kids):
            stack.append((child, kids[n + 1].line if n + 1 < len(kids) else end))
