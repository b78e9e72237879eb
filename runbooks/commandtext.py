"""What a runbook command's text says: its placeholders, whether it destroys things, how to fill it in safely.

Pure text in, text out: nothing here imports Django or `incidents`. The shell and SQL scanners it fills values
through are in `runbooks.scanning`; whether a command is destructive, in `runbooks.destructive`.

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
from dataclasses import dataclass

from . import languages
from .scanning import scan_bash, scan_sql

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


# --- secret parameters ------------------------------------------------------------------------------------

# A parameter named like a secret is never typed into a form: the worker takes it from its own environment.
_SECRET_NAME = re.compile(r"(?i)(?:^|[_.-])(?:token|password|passwd|dsn|secret|key|api[_-]?key)$")


def is_secret_name(name: str) -> bool:
    """Whether a parameter's name says it is a secret (``*_TOKEN``, ``*_PASSWORD``, ``*_DSN``, ``*_SECRET``,
    ``*_KEY``, any case, with ``_``, ``-`` or ``.`` before the word)."""
    return bool(_SECRET_NAME.search(name))


def environment_name(name: str) -> str:
    """The environment variable a secret parameter is read from: ``<api-token>`` -> ``API_TOKEN``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


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


def render_script(text: str, values: Mapping[str, str], language: str, *, secrets: Iterable[str] = ()) -> str:
    """`text` with every placeholder replaced by its checked value, quoted for where it sits.

    Parameters named in `secrets` get no value here: in bash they become a reference to the environment
    variable `environment_name(name)` (``"${API_TOKEN}"``), which the worker sets from its own environment, so
    the secret is in neither the stored script nor the process's command line. Inside '…' (where the shell
    would not expand it) and in SQL they are refused.

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
    secret = set(secrets)
    names = list(dict.fromkeys(p.name for p in spans))
    missing = [name for name in names if values.get(name) is None and name not in secret]
    if missing:
        listed = ", ".join(f"'{name}'" for name in missing)
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise ParameterError(f"No value given for {noun} {listed}.", missing)
    checked = {name: check_value(name, values[name]) for name in names if name not in secret}
    lang = languages.normalise(language)
    opaque = [(p.start, p.end) for p in spans]
    if lang == languages.BASH:
        contexts = scan_bash(text, opaque).contexts
        insert = _bash_insert
    elif lang == languages.SQL:
        contexts = scan_sql(text, opaque).contexts
        insert = _sql_insert
    else:
        contexts = {}
        insert = _plain_insert
    out: list[str] = []
    last = 0
    for p in spans:
        out.append(text[last:p.start])
        context = contexts.get(p.start, "word")
        if p.name in secret:
            out.append(_secret_reference(p.name, lang, context))
        else:
            out.append(insert(p.name, checked[p.name], context))
        last = p.end
    out.append(text[last:])
    return "".join(out)


def _secret_reference(name: str, lang: str, context: str) -> str:
    variable = environment_name(name)
    if lang != languages.BASH:
        raise ParameterError(
            f"Parameter '{name}' is a secret, and secrets reach only bash commands (from the worker's "
            "environment); SQL commands get their credentials from the target's database setting.", [name])
    if context in ("double", "heredoc"):
        return f"${{{variable}}}"
    if context == "word":
        return f'"${{{variable}}}"'
    raise ParameterError(
        f"Parameter '{name}' is a secret the worker fills in from its environment, which the shell cannot do "
        f"inside {'a comment' if context == 'comment' else chr(39) + '…' + chr(39)}; put it inside \"…\" "
        "in the runbook instead.", [name])


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
