"""The bash walker: every program a bash script would start, and everything about it that cannot be checked.

Found with bashlex (the same grammar as bash), through pipelines, lists, subshells, ``$( )``, backticks,
``<( )``, and the wrappers that run another program (sudo, env, timeout, nice, nohup, stdbuf, ionice, xargs,
watch, command, builtin, ``bash -c``, ``find -exec``). What cannot be checked is refused rather than guessed at:
eval, source, exec, functions, ``$'…'`` quoting, arithmetic, run-time program names, assignments to PATH and
friends (and to the variables in `programs.CODE_VARIABLES`), psql meta-commands that run programs (``\\!``),
psql reading SQL it was not shown, and the options of `programs.PROGRAM_RULES`.
"""

from __future__ import annotations

import re

import bashlex

from runbooks.scanning import scan_bash

from .errors import CommandRefused
from .programs import (
    NEVER,
    SET_OPTIONS,
    WATCH,
    WRAPPERS,
    Options,
    check_program,
    check_variable_loads_code,
    rules_for,
)
from .sql import check_sql

# Variables that decide which program runs or what the shell runs before it.
PROTECTED_VARIABLES = frozenset({
    "PATH", "HOME", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "CDPATH",
    "GLOBIGNORE", "SHELL", "EDITOR", "VISUAL", "PAGER",
})
PROTECTED_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_")
_PROGRAM_NAME = re.compile(r"[A-Za-z0-9_./+][A-Za-z0-9_./+-]*")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SAFE_PARAMETER = re.compile(
    r"#?(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])(?:(?::?[-=?+]|##?|%%?|//?|\^\^?|,,?)[^$`(\[{]*)?"
)
_INPUT_REDIRECTS = frozenset({"<", "<<", "<<-", "<<<", "<>", "<&"})
_EXPANDS_IN_HEREDOC = re.compile(r"\$\(|`|\$\[|\$\{(?![A-Za-z_][A-Za-z0-9_]*\})")
_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh"})
MAX_DEPTH = 4


class Walker:
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
        self.assigned: set[str] = set()  # variables the script sets itself (NAME=…, export NAME=…)

    def parse(self, text: str, depth: int) -> None:
        if depth > MAX_DEPTH:
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
                self.assigned.add(part.word.split("=", 1)[0].rstrip("+"))
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
        if not words[0].parts and words[0].word in NEVER:
            name = words[0].word
            raise CommandRefused(f"'{name}' is never run by the console: {NEVER[name]}.")
        name = _program_name(words[0])
        if name in NEVER:
            raise CommandRefused(f"'{name}' is never run by the console: {NEVER[name]}.")
        self.programs.setdefault(name)
        args = words[1:]
        base = name.rsplit("/", 1)[-1]
        if base in WRAPPERS:
            inner, seen = _after_options(base, WRAPPERS[base], args, self.text)
            if base == "command" and {"v", "V"} & seen.keys():
                return  # "command -v x" only asks where x is
            for option in ("I", "i", "--replace"):
                if seen.get(option):
                    self.pasted.add(seen[option])
            if inner:
                self.argv(inner, depth)
        elif base == "watch":
            inner, seen = _after_options(base, WATCH, args, self.text)
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
            if base == "export":
                self.assigned.update(w.word.split("=", 1)[0] for w in args if "=" in w.word)
        self.program_options(base, args)  # after the program's own checks, whose reasons are more precise

    def program_options(self, base: str, args: list) -> None:
        """The per-program refusals (programs.PROGRAM_RULES), read from the words as written.

        Options hidden in a variable the script set itself (``X=--kubeconfig=/tmp/k; kubectl $X``), or an
        option whose name is expanded (``--$X``), cannot be read beforehand: refused for a program with rules.
        """
        if not rules_for((base,)):
            return
        previous = ""
        for word in args:
            raw = self.text[word.pos[0]:word.pos[1]]
            names = {getattr(p, "value", "") for p in (word.parts or []) if p.kind == "parameter"}
            a_value = previous.startswith("-") and "=" not in previous  # "--region $REGION": a value
            previous = word.word
            if re.match(r"-+[\"']?[$`]", raw) or (
                    not a_value and re.match(r"[\"']?\$\{?([A-Za-z_][A-Za-z0-9_]*)", raw) and names & self.assigned):
                raise CommandRefused(f"'{word.word}' could put options chosen at run time on {base}'s command "
                                     f"line, where some options make {base} run other programs; write them out.")
        check_program(base, [w.word for w in args])

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
            check_sql(text, empty_ok=True)

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


def _after_options(program: str, spec: Options, args: list, text: str) -> tuple[list, dict[str, str | None]]:
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
    if name in PROTECTED_VARIABLES or name.startswith(PROTECTED_PREFIXES):
        raise CommandRefused(f"setting {name} in {how} is not allowed: it changes which program runs.")
    check_variable_loads_code(name, how)


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
                if arg not in SET_OPTIONS:
                    raise CommandRefused(f"set -o {arg} is not allowed.")
                expect_name = False
            elif arg in ("-o", "+o"):
                expect_name = True
            elif not re.fullmatch(r"[-+][euxvfC]*o?", arg):
                raise CommandRefused(f"set {arg} is not allowed (only the -e, -u, -x, -v, -f, -C and -o "
                                     "options).")
            else:
                expect_name = arg.endswith("o") and len(arg) > 1


