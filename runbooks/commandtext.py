"""What a runbook command's text says: its placeholders, whether it destroys things, how to fill it in safely.

Pure text in, text out. `runbooks.models` imports this at import time, so nothing here imports Django or
`incidents`; `incidents.execution` builds on the shell and SQL scanners below.

Three placeholder syntaxes are recognised, and all three are filled by `render_script`:

* ``<pod-name>``: an identifier-like name in angle brackets. Not after ``<`` (``<<EOF>``), and not a name
  that also appears closed as HTML (``<b>…</b>``) or a void tag (``<br>``).
* ``${SERVICE}``: only the braced form, so ordinary shell variables (``$HOME``, ``${HOME:-x}``) are left
  alone, and standard shell variables (``${HOME}``, ``${PATH}``, …) are never parameters.
* ``{{ service }}``: Jinja/Handlebars style; ``{{ .Name }}`` (Go templates, as in ``kubectl -o go-template``)
  and ``${{ x }}`` (CI expressions) are not ours.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import bashlex

BASH_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})
SQL_LANGUAGES = frozenset({"sql", "psql", "postgres", "postgresql"})

MAX_VALUE_LENGTH = 200
SAFE_VALUE_CHARACTERS = "letters, digits and . _ - : / @ = , +"
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._\-:/@=,+]+")
# A value made only of these needs no quotes anywhere a shell reads a word; "=" and "," do (an assignment
# in command position, an extra alternative inside a brace expansion).
_BARE_WORD = re.compile(r"[A-Za-z0-9._\-:/@+]+")
_SQL_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class ParameterError(ValueError):
    """A value is missing or unsafe; the message names the parameter for the person filling it in."""

    def __init__(self, message: str, names: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.names: tuple[str, ...] = tuple(names)
        self.name: str | None = self.names[0] if self.names else None


# --- placeholders ----------------------------------------------------------------------------------------

_ANGLE = re.compile(r"(?<!<)<([A-Za-z][A-Za-z0-9_.-]*)>")
_DOLLAR_BRACE = re.compile(r"(?<![\\$])\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DOUBLE_BRACE = re.compile(r"(?<![$\\{])\{\{[ \t]*([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*\}\}(?!\})")
_VOID_HTML_TAGS = frozenset({"br", "hr", "wbr"})
# Set by the shell or the system, never by the person running a command: "${HOME}" is not a question to ask.
_SHELL_VARIABLES = frozenset({
    "HOME", "PATH", "PWD", "OLDPWD", "USER", "LOGNAME", "SHELL", "HOSTNAME", "LANG", "TERM", "TMPDIR", "IFS",
    "RANDOM", "SECONDS", "LINENO", "UID", "EUID", "PPID", "BASH", "BASH_SOURCE", "BASH_VERSION", "FUNCNAME",
    "PIPESTATUS", "REPLY", "OPTARG", "OPTIND", "HOSTTYPE", "OSTYPE", "MACHTYPE", "SHLVL",
})


@dataclass(frozen=True)
class Placeholder:
    """One placeholder as written: where it is in the text and the parameter it names."""

    start: int
    end: int
    name: str


def placeholders(text: str) -> list[Placeholder]:
    """Every placeholder in `text`, in order of position, overlapping matches dropped."""
    closed_tags = {m.group(1).lower() for m in re.finditer(r"</([A-Za-z][A-Za-z0-9_.-]*)\s*>", text)}
    found: list[Placeholder] = []
    for m in _ANGLE.finditer(text):
        name = m.group(1)
        if name.lower() in closed_tags or name.lower() in _VOID_HTML_TAGS:
            continue
        found.append(Placeholder(m.start(), m.end(), name))
    for m in _DOLLAR_BRACE.finditer(text):
        if m.group(1) not in _SHELL_VARIABLES:
            found.append(Placeholder(m.start(), m.end(), m.group(1)))
    found.extend(Placeholder(m.start(), m.end(), m.group(1)) for m in _DOUBLE_BRACE.finditer(text))
    found.sort(key=lambda p: (p.start, -p.end))
    kept: list[Placeholder] = []
    for p in found:
        if not kept or p.start >= kept[-1].end:
            kept.append(p)
    return kept


def find_parameters(text: str) -> list[str]:
    """The parameter names a command asks for, in order of first appearance, each once."""
    return list(dict.fromkeys(p.name for p in placeholders(text)))


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


# --- destructive intent -----------------------------------------------------------------------------------

_DESTRUCTIVE_WORDS = (
    "delete", "del", "kill", "pkill", "killall", "terminate", "drain", "cordon", "uncordon", "scale",
    "restart", "reboot", "shutdown", "halt", "poweroff", "rm", "rmdir", "unlink", "shred", "wipe", "truncate",
    "drop", "alter", "update", "insert", "upsert", "merge", "replace", "remove", "purge", "prune", "destroy",
    "erase", "flush", "flushall", "flushdb", "evict", "rollback", "undo", "uninstall", "install", "upgrade",
    "downgrade",
    "stop", "disable", "mask", "mkfs", "dd", "reset", "revoke", "grant", "taint", "patch", "apply", "edit",
    "create", "mv", "chmod", "chown", "chgrp", "userdel", "groupdel", "deluser", "failover", "switchover",
    "promote", "demote", "detach", "deregister", "suspend", "pause", "resume", "cancel", "abort", "force",
    "clean", "rotate", "invalidate", "restore", "migrate", "vacuum", "reindex",
)
_SQL_WORDS = (
    "drop", "truncate", "alter", "delete", "update", "insert", "merge", "upsert", "grant", "revoke", "create",
    "reindex", "vacuum", "cluster", "lock", "call", "do", "refresh", "execute", "import", "reassign",
)


def _words(words: Iterable[str]) -> re.Pattern:
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])", re.IGNORECASE)


_DESTRUCTIVE = _words(_DESTRUCTIVE_WORDS)
_PG_FUNCTIONS = re.compile(r"\bpg_\w*(?:terminate|cancel|drop|promote|kill|reset|switch|reload|rotate)\w*",
                           re.IGNORECASE)
_SQL_DESTRUCTIVE = [
    _words(_SQL_WORDS),
    _PG_FUNCTIONS,
    re.compile(r"\b(?:setval|lo_unlink|dblink_exec)\b", re.IGNORECASE),
    re.compile(r"\bcopy\b[^;]*\bfrom\b", re.IGNORECASE),
    re.compile(r"\bcomment\s+on\b", re.IGNORECASE),
]
_SHELL_DESTRUCTIVE = [
    _DESTRUCTIVE,
    # HTTP methods that change things, spelled any way curl, wget or httpie accept them.
    re.compile(r"(?:-[A-Za-z]*X|--request|--method)[\s=]*['\"]?(?:POST|PUT|PATCH|DELETE)\b", re.IGNORECASE),
    re.compile(r"\bcurl\b[^\n;|&]*\s(?:-d|--data[\w-]*|-F|--form[\w-]*|-T|--upload-file|--json)(?![\w-])"),
    re.compile(r"\bwget\b[^\n;|&]*--(?:post|body)-(?:data|file)"),
    re.compile(r"\bhttps?\s+(?:POST|PUT|PATCH|DELETE)\b", re.IGNORECASE),
    re.compile(r"\bkubectl\b[^\n;|&]*\s(?:set|label|annotate|expose|autoscale|cp|replace|run)\s"),
    re.compile(r"\b(?:systemctl|service|docker|docker-compose|podman)\b[^\n;|&]*\s(?:start|reload|enable|isolate|"
               r"down|up|rmi)\b"),
    re.compile(r"\b(?:sed|perl)\b[^\n;|&]*\s(?:-[A-Za-z]*i|--in-place)"),
    re.compile(r"\bcrontab\b[^\n;|&]*\s-[A-Za-z]*r"),
    # PowerShell verbs that change state: Remove-Item, Stop-Service, Set-Content, ...
    re.compile(r"\b(?:Remove|Stop|Restart|Clear|Set|Disable|Uninstall|Reset|Format|Suspend|Unregister)-[A-Za-z]",
               re.IGNORECASE),
]
# Programs that only read or print: their arguments are data, so "grep restart app.log" is not a restart.
_READ_ONLY_PROGRAMS = frozenset({
    "grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "less", "more", "head", "tail", "wc", "cat", "zcat",
    "sort", "uniq", "cut", "echo", "printf", "ls", "jq", "column", "nl",
})
_READ_ONLY_KUBECTL = frozenset({
    "get", "describe", "logs", "top", "explain", "version", "cluster-info", "api-resources", "api-versions",
    "events",
})
_KUBECTL_VALUE_FLAGS = frozenset({
    "-n", "--namespace", "--context", "--cluster", "--kubeconfig", "--user", "-s", "--server", "--as",
})
_HARMLESS_REDIRECT_TARGETS = ("/dev/null", "/dev/stdout", "/dev/stderr", "/tmp/")


def is_destructive(text: str, language: str) -> bool:
    """Whether running `text` could change or destroy something; errs towards yes.

    Words are matched whole, with ``-``, ``/`` and ``.`` as boundaries and ``_`` as part of a word, so
    ``kubectl rollout restart``, ``terminate-instances`` and ``/tmp/delete-me`` match but
    ``undelete_docs.txt`` does not. In shell text, a pipeline made only of programs that read and print
    (``grep restart app.log | tail``, ``kubectl get pods -l app=drain``) is not judged by its arguments;
    anything else is, including ``echo DROP … | psql``. Writing to an absolute path outside /tmp with ``>``
    is destructive. SQL is judged by its statement keywords and the server functions that kill, cancel or
    drop; string literals are not skipped (``WHERE action = 'delete'`` counts), because a keyword search
    that trusts quotes can be fooled by quotes.
    """
    lang = (language or "").lower()
    if lang in SQL_LANGUAGES:
        return any(p.search(text) for p in _SQL_DESTRUCTIVE)
    judged = text
    if lang in BASH_LANGUAGES:
        judged, writes_outside = _without_read_only_pipelines(text)
        if writes_outside:
            return True
    # SQL keywords that matter inside "psql -c …" are in the shell word list already; "do" and "call" are not,
    # because every shell loop says "do".
    return any(p.search(judged) for p in (*_SHELL_DESTRUCTIVE, _PG_FUNCTIONS))


def _without_read_only_pipelines(text: str) -> tuple[str, bool]:
    """`text` with read-only pipelines blanked, and whether any redirect writes outside /tmp."""
    # Placeholders would read as redirects ("<pod>"); give bashlex same-length plain words instead.
    parseable = list(text)
    for p in placeholders(text):
        parseable[p.start:p.end] = "x" * (p.end - p.start)
    try:
        trees = bashlex.parse("".join(parseable))
    except Exception:  # noqa: BLE001 - bashlex raises many types; unparseable text is judged word by word
        return text, False
    blanked = list(text)
    writes = False
    for tree in trees:
        for pipeline in _pipelines(tree):
            members = [p for p in pipeline if p.kind not in ("pipe", "reservedword")]
            commands = [p for p in members if p.kind == "command"]
            writes = writes or any(_writes_outside_tmp(c) for c in commands)
            if commands and len(commands) == len(members) and all(_is_read_only(c) for c in commands):
                for c in commands:
                    blanked[c.pos[0]:c.pos[1]] = " " * (c.pos[1] - c.pos[0])
    return "".join(blanked), writes


def _pipelines(node) -> Iterable[list]:
    """Each pipeline (or lone command) in a bashlex tree, as the list of its parts."""
    if node.kind == "pipeline":
        yield node.parts
        return
    if node.kind == "command":
        yield [node]
        return
    for child in [*getattr(node, "parts", []), *getattr(node, "list", [])]:
        yield from _pipelines(child)


def _is_read_only(command) -> bool:
    words = []
    for part in command.parts:
        if part.kind == "assignment":
            return False
        if part.kind == "redirect" and not (
            part.type in ("<", "<<", "<<-", "<<<") or isinstance(part.output, int) or _harmless_target(part)
        ):
            return False
        if part.kind == "word":
            if any(sub.kind in ("commandsubstitution", "processsubstitution") for sub in _walk(part)):
                return False
            words.append(part.word)
    if words[:1] == ["sudo"] and len(words) > 1 and not words[1].startswith("-"):
        words = words[1:]
    if not words:
        return False
    if words[0] == "kubectl":
        return _kubectl_verb(words[1:]) in _READ_ONLY_KUBECTL
    return words[0] in _READ_ONLY_PROGRAMS


def _kubectl_verb(args: list[str]) -> str | None:
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _KUBECTL_VALUE_FLAGS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _harmless_target(redirect) -> bool:
    target = getattr(redirect.output, "word", None)
    return isinstance(target, str) and target.startswith(_HARMLESS_REDIRECT_TARGETS)


def _writes_outside_tmp(command) -> bool:
    for part in command.parts:
        if part.kind == "redirect" and part.type in (">", ">>", ">|", "&>", "&>>", "<>"):
            target = getattr(part.output, "word", None)
            if isinstance(target, str) and target.startswith(("/", "~")) and not _harmless_target(part):
                return True
    return False


def _walk(node) -> Iterable:
    yield node
    for child in getattr(node, "parts", []) or []:
        yield from _walk(child)


# --- filling in values ------------------------------------------------------------------------------------


def check_value(name: str, value: object) -> str:
    """`value` if it is safe to put in any command, else ParameterError saying what is wrong with it."""
    if not isinstance(value, str):
        raise ParameterError(f"Parameter '{name}' must be text.", [name])
    if value == "":
        raise ParameterError(f"Parameter '{name}' is empty: give it a value.", [name])
    if len(value) > MAX_VALUE_LENGTH:
        raise ParameterError(
            f"Parameter '{name}' is {len(value)} characters long; the limit is {MAX_VALUE_LENGTH}.", [name]
        )
    if not _SAFE_VALUE.fullmatch(value):
        bad = list(dict.fromkeys(c for c in value if not _SAFE_VALUE.fullmatch(c)))
        shown = ", ".join("space" if c == " " else repr(c) for c in bad[:6]) + (", …" if len(bad) > 6 else "")
        raise ParameterError(
            f"Parameter '{name}' contains characters that are not allowed ({shown}); "
            f"use only {SAFE_VALUE_CHARACTERS}", [name],
        )
    if value.startswith("-"):
        # "--all" where a pod name belongs turns "delete one pod" into "delete every pod".
        raise ParameterError(
            f"Parameter '{name}' must not start with '-': the command would read it as an option.", [name]
        )
    return value


def render_script(text: str, values: Mapping[str, str], language: str) -> str:
    """`text` with every placeholder replaced by its checked value, quoted for where it sits.

    Bash: outside quotes a value becomes exactly one word (``shlex.quote``, and single quotes whenever it
    holds ``=`` or ``,``); inside ``"…"``, ``'…'``, here-documents and comments it goes in as is, which the
    safe character set makes exact. SQL: inside a string literal or a quoted identifier it goes in as is;
    outside quotes a plain number stays a number and anything else becomes a quoted identifier
    (``public.orders`` → ``"public"."orders"``), never bare SQL; inside a ``$$`` body it is refused. Other
    languages are for reading, not running, and get the checked value as is.

    Raises ParameterError naming the missing parameters, or the first unsafe one.
    """
    spans = placeholders(text)
    if not spans:
        return text
    names = list(dict.fromkeys(p.name for p in spans))
    missing = [name for name in names if values.get(name) is None]
    if missing:
        listed = ", ".join(f"'{name}'" for name in missing)
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise ParameterError(f"No value given for {noun} {listed}.", missing)
    checked = {name: check_value(name, values[name]) for name in names}
    lang = (language or "").lower()
    opaque = [(p.start, p.end) for p in spans]
    if lang in BASH_LANGUAGES:
        contexts = scan_bash(text, opaque).contexts
        insert = _bash_insert
    elif lang in SQL_LANGUAGES:
        contexts = scan_sql(text, opaque).contexts
        insert = _sql_insert
    else:
        contexts = {}
        insert = _plain_insert
    out: list[str] = []
    last = 0
    for p in spans:
        out.append(text[last:p.start])
        out.append(insert(p.name, checked[p.name], contexts.get(p.start, "word")))
        last = p.end
    out.append(text[last:])
    return "".join(out)


def _bash_insert(name: str, value: str, context: str) -> str:
    if context != "word":
        return value  # inside quotes, a here-document or a comment: no safe character means anything there
    return shlex.quote(value) if _BARE_WORD.fullmatch(value) else f"'{value}'"


def _sql_insert(name: str, value: str, context: str) -> str:
    if context == "dollar":
        raise ParameterError(
            f"Parameter '{name}' sits inside a $$-quoted body, where it could be code or text; "
            "put it in a '…' string in the runbook instead.", [name],
        )
    if context in ("string", "identifier", "comment", "meta"):
        return value
    if _SQL_NUMBER.fullmatch(value):
        return value
    parts = value.split(".")
    if any(not part for part in parts):
        raise ParameterError(f"Parameter '{name}' is not a valid SQL name: '{value}'.", [name])
    return ".".join(f'"{part}"' for part in parts)


def _plain_insert(name: str, value: str, context: str) -> str:
    return value
