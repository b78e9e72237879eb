"""The shell's and SQL's quoting, as far as filling in a value and checking a script need it.

Pure text in, plain dataclasses out: `runbooks.commandtext` fills values into the contexts these find, and
`incidents.execution.policy` builds on them to refuse what it cannot check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# --- the shell's quoting, as far as filling in a value needs it -------------------------------------------


@dataclass(frozen=True)
class Heredoc:
    """A here-document: its delimiter, whether it was quoted (body taken literally), and its body."""

    operator: int
    word_start: int
    word_end: int
    delimiter: str
    quoted: bool
    body_start: int
    body_end: int


@dataclass
class BashScan:
    """What `scan_bash` saw: the quoting context at each opaque span, ANSI-C quotes, here-documents."""

    contexts: dict[int, str] = field(default_factory=dict)
    dollar_quotes: list[int] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)


_WORD_BREAK = " \t\n;&|()<>`"
_DELIMITER_END = " \t\n;&|()<>"


def scan_bash(text: str, opaque: Iterable[tuple[int, int]] = ()) -> BashScan:
    """Walk `text` the way bash tokenises quotes, recording the context at the start of each opaque span.

    Contexts: "word" (unquoted, also inside ``$(…)``, backticks and ``${…}``), "single", "double", "ansi"
    (``$'…'``), "comment", "heredoc" (body that expands ``$``) and "heredoc-literal" (quoted delimiter).
    Opaque spans (placeholders) are skipped whole. Unterminated quotes simply run to the end of the text.
    """
    ends = dict(opaque)
    scan = BashScan()
    # Frames are [kind, nesting depth]: "code", "cmdsub", "backtick", "param", "single", "double", "ansi".
    stack: list[list] = [["code", 0]]
    pending: list[tuple[int, int, int, str, bool, bool]] = []
    n = len(text)
    i = 0

    def context() -> str:
        kind = stack[-1][0]
        return kind if kind in ("single", "double", "ansi") else "word"

    while i < n:
        if i in ends:
            scan.contexts[i] = context()
            i = max(ends[i], i + 1)
            continue
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        frame = stack[-1]
        kind = frame[0]
        if kind == "single":
            if c == "'":
                stack.pop()
            i += 1
            continue
        if kind == "ansi":
            if c == "\\":
                i += 2
                continue
            if c == "'":
                stack.pop()
            i += 1
            continue
        if kind == "double":
            if c == "\\":
                i += 2
            elif c == '"':
                stack.pop()
                i += 1
            elif c == "$" and nxt == "(":
                stack.append(["cmdsub", 1])
                i += 2
            elif c == "$" and nxt == "{":
                stack.append(["param", 1])
                i += 2
            elif c == "`":
                stack.append(["backtick", 0])
                i += 1
            else:
                i += 1
            continue
        # Unquoted code: top level, inside $( ), backticks or ${ }.
        if c == "\\":
            i += 2
        elif c == "'":
            stack.append(["single", 0])
            i += 1
        elif c == '"':
            stack.append(["double", 0])
            i += 1
        elif c == "$" and nxt == "'":
            scan.dollar_quotes.append(i)
            stack.append(["ansi", 0])
            i += 2
        elif c == "$" and nxt == '"':
            scan.dollar_quotes.append(i)
            stack.append(["double", 0])
            i += 2
        elif c == "$" and nxt == "(":
            stack.append(["cmdsub", 1])
            i += 2
        elif c == "$" and nxt == "{":
            stack.append(["param", 1])
            i += 2
        elif c == "`":
            if kind == "backtick":
                stack.pop()
            else:
                stack.append(["backtick", 0])
            i += 1
        elif kind == "cmdsub" and c in "()":
            frame[1] += 1 if c == "(" else -1
            if frame[1] == 0:
                stack.pop()
            i += 1
        elif kind == "param" and c in "{}":
            frame[1] += 1 if c == "{" else -1
            if frame[1] == 0:
                stack.pop()
            i += 1
        elif c == "#" and kind != "param" and (i == 0 or text[i - 1] in _WORD_BREAK):
            end = text.find("\n", i)
            end = n if end < 0 else end
            for start in ends:
                if i <= start < end:
                    scan.contexts[start] = "comment"
            i = end
        elif c == "<" and nxt == "<" and text[i + 2:i + 3] != "<" and kind != "param":
            j = i + 2
            strip = text[j:j + 1] == "-"
            j += strip
            while j < n and text[j] in " \t":
                j += 1
            word_start = j
            while j < n and text[j] not in _DELIMITER_END:
                if text[j] in "'\"":
                    close = text.find(text[j], j + 1)
                    j = n if close < 0 else close + 1
                else:
                    j += 2 if text[j] == "\\" else 1
            word = text[word_start:j]
            quoted = any(q in word for q in "'\"\\")
            delimiter = re.sub(r"\\(.)", r"\1", word).replace("'", "").replace('"', "")
            pending.append((i, word_start, j, delimiter, quoted, strip))
            i = max(j, i + 2)
        elif c == "\n" and pending:
            i = _read_heredocs(text, i + 1, pending, ends, scan)
            pending = []
        else:
            i += 1
    return scan


def _read_heredocs(text: str, pos: int, pending, ends: dict[int, int], scan: BashScan) -> int:
    """Consume the bodies of the here-documents opened on the line just ended; return where code resumes."""
    n = len(text)
    for operator, word_start, word_end, delimiter, quoted, strip in pending:
        body_start = pos
        body_end = n
        while pos < n:
            eol = text.find("\n", pos)
            eol = n if eol < 0 else eol
            line = text[pos:eol]
            if (line.lstrip("\t") if strip else line) == delimiter:
                body_end = pos
                pos = min(eol + 1, n)
                break
            pos = eol + 1
        else:
            pos = n
        for start in ends:
            if body_start <= start < body_end:
                scan.contexts[start] = "heredoc-literal" if quoted else "heredoc"
        scan.heredocs.append(Heredoc(operator, word_start, word_end, delimiter, quoted, body_start, body_end))
    return pos


# --- SQL quoting ------------------------------------------------------------------------------------------


@dataclass
class SqlScan:
    """What `scan_sql` saw: contexts at opaque spans, psql meta-commands, and the text with only code left."""

    contexts: dict[int, str] = field(default_factory=dict)
    meta_commands: list[tuple[int, str]] = field(default_factory=list)
    code: str = ""


_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_META_NAME = re.compile(r"\\([A-Za-z]+[+S]*|.)")


def scan_sql(text: str, opaque: Iterable[tuple[int, int]] = ()) -> SqlScan:
    """Walk PostgreSQL text as psql does, recording the context at each opaque span.

    Contexts: "code", "string" ('…', E'…'), "identifier" ("…"), "comment", "dollar" ($$…$$ bodies, which may
    be code or text: nobody can tell without parsing the function language). `code` is `text` with strings,
    identifiers and comments blanked, so keyword searches see only what the server would parse as SQL.
    """
    ends = dict(opaque)
    scan = SqlScan()
    code = list(text)
    n = len(text)
    i = 0

    def mark(start: int, end: int, context: str) -> None:
        for s in ends:
            if start <= s < end:
                scan.contexts[s] = context
        for k in range(start, min(end, n)):
            if code[k] != "\n":
                code[k] = " "

    while i < n:
        if i in ends:
            scan.contexts[i] = "code"
            i = max(ends[i], i + 1)
            continue
        c = text[i]
        if c == "'":
            escapes = i > 0 and text[i - 1] in "eE" and (i < 2 or not _is_name_char(text[i - 2]))
            j = i + 1
            while j < n:
                if escapes and text[j] == "\\":
                    j += 2
                    continue
                if text[j] == "'":
                    if text[j + 1:j + 2] == "'":
                        j += 2
                        continue
                    break
                j += 1
            mark(i, j + 1, "string")
            i = j + 1
        elif c == '"':
            j = i + 1
            while j < n:
                if text[j] == '"':
                    if text[j + 1:j + 2] == '"':
                        j += 2
                        continue
                    break
                j += 1
            mark(i, j + 1, "identifier")
            i = j + 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            mark(i, j, "comment")
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            mark(i, j, "comment")
            i = j
        elif c == "$" and (i == 0 or not _is_name_char(text[i - 1])) and (
                tag := _DOLLAR_TAG.match(text, i)):
            close = text.find(tag.group(0), tag.end())
            j = n if close < 0 else close + len(tag.group(0))
            mark(i, j, "dollar")
            i = j
        elif c == "\\":
            m = _META_NAME.match(text, i)
            scan.meta_commands.append((i, m.group(1) if m else ""))
            # psql takes the rest of the line as the meta-command's arguments.
            j = text.find("\n", i)
            j = n if j < 0 else j
            mark(i, j, "meta")
            i = j
        else:
            i += 1
    scan.code = "".join(code)
    return scan


def _is_name_char(c: str) -> bool:
    return c.isalnum() or c == "_"
