"""What a command may invoke: every program a bash script would start, and what SQL may do.

* `programs_in` / `check_allowed`: every program a bash script would start, found with bashlex (the same
  grammar as bash), through pipelines, lists, subshells, ``$( )``, backticks, ``<( )``, and the wrappers that
  run another program (sudo, env, timeout, nice, nohup, stdbuf, ionice, xargs, watch, command, builtin,
  ``bash -c``, ``find -exec``). What cannot be checked is refused rather than guessed at: eval, source,
  exec, functions, ``$'…'`` quoting, arithmetic, run-time program names, assignments to PATH and friends,
  psql meta-commands that run programs (``\\!``), and psql reading SQL it was not shown. A few builtins
  (IMPLICITLY_ALLOWED: echo, printf, test, sleep, cd, set, export, read, wait, …) need no listing, with
  their assigning options checked. An allowed program that can start others by itself (ssh, ``kubectl
  exec``, awk's system(), git) is trusted with what it starts: allow only what you would trust with a shell.
* `split_dsn`: a DSN without its password, so the password never reaches a command line.
"""


from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import bashlex

from runbooks import languages
from runbooks.scanning import scan_bash, scan_sql

# Harmless with any arguments the checks below let through, so no allow-list needs to name them.
IMPLICITLY_ALLOWED = frozenset({
    "echo", "printf", "true", "false", ":", "test", "[", "sleep", "cd", "pwd", "set", "exit", "shift",
    "break", "continue", "export", "read", "wait",
})
_NEVER = {
    "eval": "it runs text as shell code, which cannot be checked beforehand",
    "source": "it runs a file as shell code, which cannot be checked beforehand",
    ".": "it runs a file as shell code, which cannot be checked beforehand",
    "exec": "it replaces the shell, escaping the checks and the output capture",
    "trap": "it runs its text as shell code later",
    "coproc": "its commands run outside what the console can follow",
    "setsid": "it escapes the run's process group, so a timeout or cancel could not stop it",
    "enable": "it changes how commands are found",
    "hash": "it changes how commands are found",
    "alias": "it changes how commands are found",
    "unalias": "it changes how commands are found",
    "shopt": "it changes how the shell reads commands",
    "bind": "it changes how the shell reads commands",
    "complete": "it can run commands later",
    "compgen": "it can run commands",
    "fc": "it re-runs commands from history",
    "let": "its arithmetic can run code hidden in variables",
    "declare": "its attributes and arithmetic can run code hidden in variables",
    "typeset": "its attributes and arithmetic can run code hidden in variables",
    "local": "its attributes and arithmetic can run code hidden in variables",
    "readonly": "it can change how variables behave",
    "mapfile": "its callback option runs code",
    "readarray": "its callback option runs code",
}
_BASH_BUILTINS = frozenset({
    "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen", "complete", "compopt",
    "continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit", "export", "false",
    "fc", "fg", "getopts", "hash", "help", "history", "jobs", "kill", "let", "local", "logout", "mapfile",
    "popd", "printf", "pushd", "pwd", "read", "readarray", "readonly", "return", "set", "shift", "shopt",
    "source", "suspend", "test", "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias",
    "unset", "wait", ".", ":", "[",
})
# Variables that decide which program runs or what the shell runs before it.
_PROTECTED_VARIABLES = frozenset({
    "PATH", "HOME", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "CDPATH",
    "GLOBIGNORE", "SHELL", "EDITOR", "VISUAL", "PAGER",
})
_PROTECTED_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_")
_PROGRAM_NAME = re.compile(r"[A-Za-z0-9_./+][A-Za-z0-9_./+-]*")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SAFE_PARAMETER = re.compile(
    r"#?(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])(?:(?::?[-=?+]|##?|%%?|//?|\^\^?|,,?)[^$`(\[{]*)?"
)
_INPUT_REDIRECTS = frozenset({"<", "<<", "<<-", "<<<", "<>", "<&"})
_EXPANDS_IN_HEREDOC = re.compile(r"\$\(|`|\$\[|\$\{(?![A-Za-z_][A-Za-z0-9_]*\})")
_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh"})
_MAX_DEPTH = 4


class CommandRefused(Exception):
    """The command will not be run; the message says why, for the person who asked for it."""


@dataclass(frozen=True)
class _Options:
    """How a wrapper's command line reads, as far as finding the program it runs needs."""

    flags: str = ""
    valued: str = ""
    long_flags: frozenset[str] = frozenset()
    long_valued: frozenset[str] = frozenset()
    long_optional: frozenset[str] = frozenset()  # --name[=value]: a value only when attached
    optional_attached: str = ""  # -i[R]: a value only when attached
    assignments: bool = False  # NAME=value words may come before the program (env, sudo)
    positionals: int = 0  # words between the options and the program (timeout's duration)
    numeric: bool = False  # "-10" is an option (nice)
    bare_dash: bool = False  # "-" alone is an option (env)


_WRAPPERS = {
    "sudo": _Options(
        flags="bEHknPS", valued="CDghpRrTtUu", assignments=True,
        long_flags=frozenset({"--background", "--preserve-env", "--set-home", "--non-interactive",
                              "--preserve-groups", "--stdin", "--reset-timestamp"}),
        long_valued=frozenset({"--chdir", "--close-from", "--group", "--host", "--prompt", "--chroot",
                               "--role", "--command-timeout", "--type", "--other-user", "--user"}),
        long_optional=frozenset({"--preserve-env"}),
    ),
    "env": _Options(
        flags="i0v", valued="uC", assignments=True, bare_dash=True,
        long_flags=frozenset({"--ignore-environment", "--null", "--debug"}),
        long_valued=frozenset({"--unset", "--chdir"}),
    ),
    "timeout": _Options(
        flags="v", valued="sk", positionals=1,
        long_flags=frozenset({"--preserve-status", "--foreground", "--verbose"}),
        long_valued=frozenset({"--signal", "--kill-after"}),
    ),
    "nice": _Options(valued="n", long_valued=frozenset({"--adjustment"}), numeric=True),
    "nohup": _Options(),
    "stdbuf": _Options(valued="ioe", long_valued=frozenset({"--input", "--output", "--error"})),
    "ionice": _Options(flags="t", valued="cn", long_flags=frozenset({"--ignore"}),
                       long_valued=frozenset({"--class", "--classdata"})),
    "xargs": _Options(
        flags="0prtxo", valued="aEdILnPs", optional_attached="ile",
        long_flags=frozenset({"--null", "--no-run-if-empty", "--verbose", "--interactive", "--exit",
                              "--open-tty"}),
        long_valued=frozenset({"--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars",
                               "--process-slot-var"}),
        long_optional=frozenset({"--replace", "--eof", "--max-lines"}),
    ),
    "time": _Options(
        flags="pvaq", valued="fo",
        long_flags=frozenset({"--portability", "--verbose", "--append", "--quiet"}),
        long_valued=frozenset({"--format", "--output"}),
    ),
    "command": _Options(flags="pvV"),
    "builtin": _Options(),
}
_WATCH = _Options(
    flags="bcdegptwx", valued="nq",
    long_flags=frozenset({"--beep", "--color", "--no-color", "--errexit", "--chgexit", "--precise",
                          "--no-title", "--no-wrap", "--exec"}),
    long_valued=frozenset({"--interval", "--equexit"}),
    long_optional=frozenset({"--differences"}),
)
_SET_OPTIONS = frozenset({"errexit", "nounset", "xtrace", "verbose", "pipefail", "noglob", "noclobber"})


# --- what a script runs -----------------------------------------------------------------------------------


def programs_in(script: str, language: str = "bash") -> list[str]:
    """Every program `script` would start, in order of appearance, each once.

    SQL runs through psql, so for SQL this is ``["psql"]`` once the SQL itself passes its checks.
    Raises CommandRefused, with a reason a person can act on, for anything that cannot be checked.
    """
    lang = languages.normalise(language)
    if lang == languages.SQL:
        _check_sql(script)
        return ["psql"]
    if lang != languages.BASH:
        raise CommandRefused(languages.not_runnable_reason(language))
    walker = _Walker()
    walker.parse(script, depth=0)
    return list(walker.programs)


def check_allowed(script: str, allowed_programs: Iterable[str], language: str = "bash", *,
                  target_name: str | None = None) -> None:
    """Raise CommandRefused naming the first program in `script` that `allowed_programs` does not list.

    Names are compared exactly: a script calling ``/usr/bin/kubectl`` needs that path on the list, so a
    program of the same name elsewhere on disk is never taken for the allowed one. IMPLICITLY_ALLOWED
    builtins need no listing.
    """
    allowed = set(allowed_programs)
    where = f"target '{target_name}'" if target_name else "this target"
    for program in programs_in(script, language):
        if program not in allowed and program not in IMPLICITLY_ALLOWED:
            hint = ""
            if "/" in program and program.rsplit("/", 1)[-1] in allowed:
                hint = f" (it allows '{program.rsplit('/', 1)[-1]}': call it by that name)"
            raise CommandRefused(f"'{program}' is not on the allow-list for {where}{hint}.")


class _Walker:
    """Walks bashlex trees, collecting programs and refusing what cannot be checked."""

    def __init__(self) -> None:
        self.programs: dict[str, None] = {}
        self.text = ""  # the text being walked; word positions point into it
        # Where the command being looked at reads its input: "none" (/dev/null), "text" (a here-document,
        # whose text is in stdin_text), or "unknown" (a pipe, a file, a redirected loop or group).
        self.inherited = "none"
        self.stdin = "none"
        self.stdin_text: str | None = None
        self.pasted = {"{}"}  # strings find -exec and xargs -I replace with data

    def parse(self, text: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise CommandRefused("the script nests shells too deeply to check.")
        if not text.strip():
            return
        scan = scan_bash(text)
        if scan.dollar_quotes:
            raise CommandRefused("$'…' and $\"…\" quoting cannot be checked by the console; "
                                 "use '…' or \"…\".")
        # bashlex cannot read a quoted here-document delimiter (<<'EOF'); a same-length unquoted one
        # (<< EOF ) parses to the same commands, and we know the body is literal.
        parseable = list(text)
        for doc in scan.heredocs:
            word = text[doc.word_start:doc.word_end]
            if doc.quoted:
                if not re.fullmatch(r"'[\w-]+'|\"[\w-]+\"|\\[\w-]+", word):
                    raise CommandRefused(f"here-document delimiter {word} is too unusual to check; "
                                         "use <<'EOF'.")
                parseable[doc.word_start] = " "
                if word[0] != "\\":
                    parseable[doc.word_end - 1] = " "
            elif _EXPANDS_IN_HEREDOC.search(text, doc.body_start, doc.body_end):
                raise CommandRefused(
                    f"the here-document ending in {doc.delimiter} runs $( ), backticks or ${{…}} in its "
                    f"body; quote its delimiter (<<'{doc.delimiter}') to keep the body as plain text."
                )
        parseable_text = "".join(parseable)
        try:
            trees = bashlex.parse(parseable_text)
        except NotImplementedError as exc:
            what = _unsupported(str(exc))
            raise CommandRefused(f"the script uses {what}, which the console cannot check.") from None
        except Exception as exc:  # noqa: BLE001 - bashlex raises several unrelated types for one meaning
            raise CommandRefused(f"the console could not read this script as bash: {exc}.") from None
        outer, self.text = self.text, parseable_text
        try:
            for tree in trees:
                self.visit(tree, depth)
        finally:
            self.text = outer

    def visit(self, node, depth: int) -> None:
        kind = node.kind
        if kind == "function":
            raise CommandRefused("defining shell functions is not allowed: a function can stand in for a "
                                 "program.")
        if kind == "command":
            self.command(node, depth)
            return
        if kind in ("word", "assignment"):
            self.word(node, depth)
            return
        if kind == "redirect":
            self.redirect(node, depth)
            return
        if kind == "compound":
            items = node.list
            if (len(items) > 1 and items[0].kind == "reservedword" and items[0].word == "("
                    and items[1].kind == "compound" and items[1].pos[0] == items[0].pos[0] + 1):
                raise CommandRefused("arithmetic (( … )) is not allowed: it can run code hidden in "
                                     "variables.")
        if kind == "pipeline":
            members = [p for p in node.parts if p.kind not in ("pipe", "reservedword")]
            for index, member in enumerate(members):
                self.visit_reading(member, depth, "unknown" if index else self.inherited)
            return
        redirects = getattr(node, "redirects", None) or []
        if kind == "compound" and any(r.type in _INPUT_REDIRECTS for r in redirects):
            for redirect in node.redirects:
                self.visit(redirect, depth)
            self.visit_reading(_Bare(node), depth, "unknown")
            return
        if kind == "for":
            names = [p for p in node.parts if p.kind == "word"]
            if names:
                _check_variable(names[0].word, "a for loop")
        for child in [*(getattr(node, "parts", None) or []), *(getattr(node, "list", None) or []),
                      *(getattr(node, "redirects", None) or [])]:
            self.visit(child, depth)

    def visit_reading(self, node, depth: int, stdin: str) -> None:
        outer, self.inherited = self.inherited, stdin
        try:
            self.visit(node, depth)
        finally:
            self.inherited = outer

    def command(self, node, depth: int) -> None:
        words = []
        stdin, stdin_text = ("unknown" if self.inherited != "none" else "none"), None
        for part in node.parts:
            if part.kind == "redirect" and part.type in ("<<", "<<-"):
                stdin, stdin_text = "text", part.heredoc.value.rsplit("\n", 1)[0]
            elif part.kind == "redirect" and part.type == "<<<":
                stdin, stdin_text = "text", getattr(part.output, "word", "")
            elif part.kind == "redirect" and part.type in _INPUT_REDIRECTS:
                stdin, stdin_text = "unknown", None
        for part in node.parts:
            if part.kind == "assignment":
                _check_variable(part.word.split("=", 1)[0].rstrip("+"), "an assignment")
                self.word(part, depth)
            elif part.kind == "redirect":
                self.redirect(part, depth)
            elif part.kind == "word":
                self.word(part, depth)
                words.append(part)
        if words:
            # Set only now: walking the words above may have looked at commands inside $( ).
            self.stdin, self.stdin_text = stdin, stdin_text
            self.argv(words, depth)

    def word(self, node, depth: int) -> None:
        for part in getattr(node, "parts", None) or []:
            if part.kind == "parameter":
                value = getattr(part, "value", "") or ""
                if value and not _SAFE_PARAMETER.fullmatch(value):
                    raise CommandRefused(
                        f"the expansion ${{{value}}} can run code or pick a variable at run time; "
                        "only plain ${NAME}, ${NAME:-default} and similar are allowed."
                    )
            elif part.kind in ("commandsubstitution", "processsubstitution"):
                self.visit(part.command, depth)

    def redirect(self, node, depth: int) -> None:
        target = node.output
        if getattr(target, "kind", None) == "word":
            if target.word.startswith(("/dev/tcp/", "/dev/udp/")):
                raise CommandRefused("bash's /dev/tcp and /dev/udp network redirections are not allowed.")
            self.word(target, depth)

    def argv(self, words: list, depth: int) -> None:
        """One command line: its program, and whatever program that one runs in turn."""
        if not words[0].parts and words[0].word in _NEVER:
            name = words[0].word
            raise CommandRefused(f"'{name}' is never run by the console: {_NEVER[name]}.")
        name = _program_name(words[0])
        if name in _NEVER:
            raise CommandRefused(f"'{name}' is never run by the console: {_NEVER[name]}.")
        self.programs.setdefault(name)
        args = words[1:]
        base = name.rsplit("/", 1)[-1]
        if base in _WRAPPERS:
            inner, seen = _after_options(base, _WRAPPERS[base], args, self.text)
            if base == "command" and {"v", "V"} & seen.keys():
                return  # "command -v x" only asks where x is
            for option in ("I", "i", "--replace"):
                if seen.get(option):
                    self.pasted.add(seen[option])
            if inner:
                self.argv(inner, depth)
        elif base == "watch":
            inner, seen = _after_options(base, _WATCH, args, self.text)
            if not inner:
                return
            if {"x", "--exec"} & seen.keys():
                self.argv(inner, depth)
            else:
                # watch joins its words with spaces and hands them to "sh -c": read them the same way, and
                # refuse anything expanded first, which would arrive as code.
                self.parse_reading(" ".join(_unexpanded(base, w) for w in inner), depth + 1)
        elif base in _SHELLS:
            self.shell(base, args, depth)
        elif base == "find":
            self.find(args, depth)
        elif base == "psql":
            self.psql(args)
        else:
            _check_builtin_arguments(base, [w.word for w in args])

    def shell(self, base: str, args: list, depth: int) -> None:
        runs_string = False
        i = 0
        while i < len(args):
            word = _plain(base, args[i], self.text)
            if word in ("--rcfile", "--init-file"):
                raise CommandRefused(f"{base} {word} runs a file the console cannot check.")
            if word in ("-o", "+o", "-O", "+O"):
                i += 2
                continue
            if word == "--":
                i += 1
                break
            if word.startswith("--"):
                i += 1
                continue
            if len(word) > 1 and word[0] in "-+":
                runs_string = runs_string or "c" in word
                i += 1
                continue
            break
        if runs_string and i < len(args):
            code = _unexpanded(base, args[i])
            if any(pasted in code for pasted in self.pasted):
                raise CommandRefused(f"{base} -c would have file names or input lines pasted into its code; "
                                     f"pass them as arguments (\"$1\") instead.")
            self.parse_reading(code, depth + 1)

    def parse_reading(self, text: str, depth: int) -> None:
        """Parse a shell string run by a command, whose input the string's commands inherit."""
        outer, self.inherited = self.inherited, self.stdin
        try:
            self.parse(text, depth)
        finally:
            self.inherited = outer

    def psql(self, args: list) -> None:
        """psql runs meta-commands (\\! runs a shell): check the SQL it is given, refuse SQL it cannot see."""
        sql: list[str] = []
        i = 0
        while i < len(args):
            word = args[i].word
            option, value = None, None
            if word.startswith("--"):
                name, eq, attached = word.partition("=")
                if name in ("--command", "--file", "--output"):
                    option = name[2]
                    value = attached if eq else (args[i + 1].word if i + 1 < len(args) else "")
                    i += 0 if eq else 1
            elif word.startswith("-") and len(word) > 1:
                for j, letter in enumerate(word[1:], start=1):
                    if letter in "cdfFhLopPRTUv":
                        if letter in "cfo":
                            option = letter
                            value = word[j + 1:] or (args[i + 1].word if i + 1 < len(args) else "")
                        if j == len(word) - 1:
                            i += 1
                        break
            if option == "c":
                if value.lstrip().startswith(("$", "`")):
                    raise CommandRefused("psql -c with a command chosen at run time cannot be checked.")
                sql.append(value)
            elif option == "f" and value != "-":
                raise CommandRefused("psql -f runs a file the console cannot check; put the SQL in the "
                                     "command.")
            elif option == "o" and value.startswith("|"):
                raise CommandRefused("psql -o |… sends output to a program, which is not allowed.")
            i += 1
        if not sql:
            if self.stdin == "unknown":
                raise CommandRefused("psql reading SQL from a file or another program cannot be checked for "
                                     "meta-commands like \\!; use psql -c or a here-document.")
            if self.stdin == "text" and self.stdin_text:
                sql.append(self.stdin_text)
        for text in sql:
            _check_sql(text, empty_ok=True)

    def find(self, args: list, depth: int) -> None:
        for i, word in enumerate(args):
            _plain("find", word, self.text)
            if word.word in ("-exec", "-execdir", "-ok", "-okdir"):
                end = next((j for j in range(i + 1, len(args)) if args[j].word in (";", "+")), len(args))
                if end > i + 1:
                    self.argv(args[i + 1:end], depth)


class _Bare:
    """A compound command without its redirects, so visiting it does not loop back to them."""

    kind = "compound"

    def __init__(self, node) -> None:
        self.list = node.list
        self.parts: list = []
        self.redirects: list = []


def _unsupported(message: str) -> str:
    lowered = message.lower()
    for needle, name in (("arithmetic", "arithmetic $(( ))"), ("time", "the time keyword"),
                         ("pattern", "a case statement"), ("case", "a case statement"),
                         ("select", "a select loop"), ("coproc", "coproc")):
        if needle in lowered:
            return name
    return f"shell syntax ({message})"


def _program_name(word) -> str:
    if getattr(word, "parts", None):
        raise CommandRefused(
            f"'{word.word}' picks the program at run time; write the program's name so it can be checked."
        )
    name = word.word
    if name in ("[", ":") or (_PROGRAM_NAME.fullmatch(name) and any(c.isalnum() for c in name)):
        return name
    raise CommandRefused(f"'{name}' is not a plain program name the console can check.")


def _expands(raw: str) -> bool:
    """Whether a word as written holds an unquoted glob or brace expansion (either can become many words)."""
    unquoted, quote, i = [], "", 0
    while i < len(raw):
        c = raw[i]
        if quote:
            quote = "" if c == quote else quote
            unquoted.append("_")
        elif c == "\\":
            unquoted.append("_")
            i += 1
        elif c in "'\"":
            quote = c
            unquoted.append("_")
        else:
            unquoted.append(c)
        i += 1
    view = "".join(unquoted)
    return bool(re.search(r"[*?\[]", view) or re.search(r"\{[^{}]*(?:,|\.\.)[^{}]*\}", view))


def _unexpanded(program: str, word) -> str:
    """A word that will be read as code later, so nothing in it may come from run time."""
    if getattr(word, "parts", None):
        raise CommandRefused(f"'{word.word}' would be expanded and then run as code by {program}; "
                             "write the command out.")
    return word.word


def _plain(program: str, word, text: str) -> str:
    """A word that must stay one word: no expansion, unquoted glob or brace may shift the words after it."""
    if getattr(word, "parts", None) or _expands(text[word.pos[0]:word.pos[1]]):
        raise CommandRefused(
            f"'{word.word}' in a {program} command line is expanded at run time, so the program {program} "
            "runs cannot be known beforehand."
        )
    return word.word


def _after_options(program: str, spec: _Options, args: list, text: str) -> tuple[list, dict[str, str | None]]:
    """The words of the command a wrapper runs, and the options it was given with their values."""
    seen: dict[str, str | None] = {}
    i = 0
    while i < len(args):
        word = _plain(program, args[i], text)
        if word == "--":
            i += 1
            break
        if word == "-" and spec.bare_dash:
            i += 1
            continue
        if word.startswith("--"):
            name, eq, attached = word.partition("=")
            seen[name] = attached if eq else None
            if (name in spec.long_flags and not eq) or name in spec.long_optional:
                i += 1
            elif name in spec.long_valued:
                i += 1 if eq else 2
            else:
                raise CommandRefused(f"{program} option '{name}' is not one the console understands, so what "
                                     f"{program} runs cannot be checked.")
            continue
        if word.startswith("-") and len(word) > 1:
            if spec.numeric and word[1:].isdigit():
                i += 1
                continue
            i += 1
            for j, letter in enumerate(word[1:], start=1):
                seen[letter] = None
                if letter in spec.optional_attached:
                    seen[letter] = word[j + 1:] or None
                    break
                if letter in spec.valued:
                    if j < len(word) - 1:
                        seen[letter] = word[j + 1:]
                    elif i < len(args):
                        seen[letter] = _plain(program, args[i], text)
                        i += 1
                    break
                if letter not in spec.flags:
                    raise CommandRefused(f"{program} option '-{letter}' is not one the console understands, "
                                         f"so what {program} runs cannot be checked.")
            continue
        break
    if spec.assignments:
        while i < len(args) and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", _plain(program, args[i], text)):
            _check_variable(args[i].word.split("=", 1)[0], f"{program}'s environment")
            i += 1
    for _ in range(spec.positionals):
        if i < len(args):
            _plain(program, args[i], text)
        i += 1
    return args[i:], seen


def _check_variable(name: str, how: str) -> None:
    if not _VARIABLE_NAME.fullmatch(name):
        raise CommandRefused(f"'{name}' in {how} is not a plain variable name.")
    if name in _PROTECTED_VARIABLES or name.startswith(_PROTECTED_PREFIXES):
        raise CommandRefused(f"setting {name} in {how} is not allowed: it changes which program runs.")


def _check_builtin_arguments(base: str, args: list[str]) -> None:
    """The few implicitly allowed builtins have options that assign or evaluate; refuse those."""
    if base == "printf" and any(a.startswith("-v") for a in args[:2]):
        raise CommandRefused("printf -v is not allowed: it assigns to a name the console cannot check.")
    if base in ("test", "[") and any(a in ("-v", "-R") for a in args):
        raise CommandRefused(f"{base} -v is not allowed: it evaluates array subscripts, which can run code.")
    if base == "wait" and any(a.startswith("-") and "p" in a for a in args):
        raise CommandRefused("wait -p is not allowed: it assigns to a name the console cannot check.")
    if base == "read":
        i = 0
        while i < len(args) and args[i].startswith("-") and args[i] != "--":
            letters = args[i][1:]
            for j, letter in enumerate(letters):
                if letter in "adinNptu":
                    value = letters[j + 1:] or (args[i + 1] if i + 1 < len(args) else "")
                    if letter == "a":
                        _check_variable(value, "read -a")
                    i += 0 if letters[j + 1:] else 1
                    break
                if letter not in "ers":
                    raise CommandRefused(f"read -{letter} is not allowed.")
            i += 1
        for name in args[i:]:
            if name != "--":
                _check_variable(name, "read")
    if base == "export":
        for arg in args:
            if arg == "-p":
                continue
            if arg.startswith("-"):
                raise CommandRefused(f"export {arg} is not allowed.")
            _check_variable(arg.split("=", 1)[0], "export")
    if base == "set":
        expect_name = False
        for arg in args:
            if expect_name:
                if arg not in _SET_OPTIONS:
                    raise CommandRefused(f"set -o {arg} is not allowed.")
                expect_name = False
            elif arg in ("-o", "+o"):
                expect_name = True
            elif not re.fullmatch(r"[-+][euxvfC]*o?", arg):
                raise CommandRefused(f"set {arg} is not allowed (only the -e, -u, -x, -v, -f, -C and -o "
                                     "options).")
            else:
                expect_name = arg.endswith("o") and len(arg) > 1


# --- SQL -----------------------------------------------------------------------------------------------

_SAFE_META = re.compile(r"d[A-Za-z]{0,3}[+S]*|l\+?|x|t|a|timing|conninfo|echo|qecho|pset|encoding")
_UNTRUSTED_LANGUAGES = re.compile(r"\b(?:plpython\w*u|plperlu|pltclu|plsh|plr)\b", re.IGNORECASE)


def _check_sql(script: str, *, empty_ok: bool = False) -> None:
    if not script.strip() and not empty_ok:
        raise CommandRefused("the SQL is empty.")
    scan = scan_sql(script)
    for _, name in scan.meta_commands:
        if not _SAFE_META.fullmatch(name):
            raise CommandRefused(
                f"psql meta-command '\\{name}' is not allowed (only \\d…, \\l, \\x, \\t, \\a, \\timing, "
                "\\conninfo, \\echo and \\pset): others run programs or read and write files."
            )
    if re.search(r"\bcopy\b[^;]*\bprogram\b", scan.code, re.IGNORECASE):
        raise CommandRefused("COPY … PROGRAM runs a program on the database server and is not allowed.")
    if _UNTRUSTED_LANGUAGES.search(script):
        raise CommandRefused("untrusted procedural languages (plpython3u, plperlu, …) run programs and are "
                             "not allowed.")


def split_dsn(dsn: str) -> tuple[str, str | None]:
    """The DSN without its password, and the password, so the password goes in PGPASSWORD and not on the
    command line, where any user of the host could read it in the process list."""
    if re.match(r"postgres(?:ql)?://", dsn):
        parts = urlsplit(dsn)
        password = None
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                user, raw = userinfo.split(":", 1)
                password = unquote(raw)
                netloc = f"{user}@{host}"
        query = parse_qsl(parts.query, keep_blank_values=True)
        for key, value in query:
            if key == "password":
                password = value
        query = [(k, v) for k, v in query if k != "password"]
        return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment)), password
    found = re.search(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn)
    if not found:
        return dsn, None
    raw = found.group(1)
    password = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith("'") else raw
    return (dsn[:found.start()] + dsn[found.end():]).strip(), password
