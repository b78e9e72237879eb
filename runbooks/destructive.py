"""Whether a command could change or destroy something: `is_destructive(text, language)`, erring towards yes.

Judged first by what each command can do (bashlex reads the script as bash does, through pipelines, lists,
loops, subshells, ``$( )``, ``bash -c`` and wrappers such as sudo, timeout and xargs):

* any output redirection to a file (``> out.txt``, ``>> $HOME/x``, ``> /tmp/../etc/passwd``); only
  /dev/null, /dev/stdout, /dev/stderr, /dev/fd/N and other descriptors are not writes;
* programs that write by nature (cp, mv, tee with a file, touch, mkdir, dd, rsync, …) and the writing uses of
  others: ``curl -o``/``-O``/``-T``/``-d``/``-X POST``, ``wget`` (it saves a file), ``aws s3 cp|mv|rm|sync``
  and any AWS operation that is not describe/list/get/…, every kubectl verb but the reading ones (so
  ``exec``, ``debug``, ``port-forward``, ``delete``, ``scale``, ``drain``, ``cordon`` …), ``psql -o``, SQL
  that is DDL or DML, ``COPY … TO`` a file, ``lo_export``, ``sed -i``, ``sort -o``, ``find -delete`` …;
* a shell given code it cannot show (``… | bash``).

What is left (programs it does not know) is judged by words, as before: ``-``, ``/`` and ``.`` are word
boundaries and ``_`` is part of a word, so ``kubectl rollout restart`` and ``terminate-instances`` match but
``undelete_docs.txt`` does not. A pipeline made only of commands known to read is not judged by its
arguments (``grep restart app.log | tail``, ``kubectl get pods -l app=drain``). SQL is judged by its
statement keywords and the server functions that kill, cancel, drop or write files; string literals are not
skipped (``WHERE action = 'delete'`` counts), because a keyword search that trusts quotes can be fooled by
quotes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import bashlex

from . import languages
from .commandtext import placeholders

# --- destructive intent, by words ---------------------------------------------------------------------------

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
_PG_FUNCTIONS = re.compile(r"\bpg_\w*(?:terminate|cancel|drop|promote|kill|reset|switch|reload|rotate|write)\w*",
                           re.IGNORECASE)
_SQL_DESTRUCTIVE = [
    _words(_SQL_WORDS),
    _PG_FUNCTIONS,
    re.compile(r"\b(?:setval|nextval|lo_unlink|lo_export|lo_import|lo_from_bytea|lo_put|dblink_exec)\b",
               re.IGNORECASE),
    re.compile(r"\bcopy\b[^;]*\bfrom\b", re.IGNORECASE),
    # COPY … TO a file or a program (TO STDOUT only prints).
    re.compile(r"\bcopy\b[^;]*\bto\b(?!\s+stdout\b)", re.IGNORECASE),
    re.compile(r"\bselect\b[^;]*\binto\b", re.IGNORECASE),  # SELECT … INTO new_table
    re.compile(r"\bcomment\s+on\b", re.IGNORECASE),
    re.compile(r"\bsecurity\s+label\b", re.IGNORECASE),
    # psql meta-commands that write files or copy data: \o FILE, \w FILE, \g FILE, \copy.
    re.compile(r"\\(?:o|out|w|write|g|gx)[ \t]+[^\s|\\]|\\copy\b", re.IGNORECASE),
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
# When bashlex cannot read the text: a redirection to anything but a descriptor or /dev/null is a write.
_CRUDE_WRITE = re.compile(r"(?:^|[^<>&\d])(?:\d?>>?|&>>?|>\|)[ \t]*(?!&|/dev/(?:null|stdout|stderr|fd/)|[ \t]*$)\S",
                          re.MULTILINE)


@lru_cache(maxsize=4096)
def is_destructive(text: str, language: str) -> bool:
    """Whether running `text` could change or destroy something; errs towards yes (see the module doc).

    Remembered per distinct (text, language): a document repeats its commands, and a re-import judges
    every command again."""
    lang = languages.normalise(language)
    if lang == languages.SQL:
        return sql_is_destructive(text)
    judged = text
    if lang in (languages.BASH, languages.CONSOLE):
        judged, writes = _judge_shell(text)
        if writes:
            return True
        if not judged.strip():
            return False  # every command in it only reads; the patterns below all need a word
    # SQL keywords that matter inside "psql -c …" are in the shell word list already; "do" and "call" are not,
    # because every shell loop says "do".
    return any(p.search(judged) for p in (*_SHELL_DESTRUCTIVE, _PG_FUNCTIONS))


def sql_is_destructive(text: str) -> bool:
    return any(p.search(text) for p in _SQL_DESTRUCTIVE)


# --- what a shell command can do ------------------------------------------------------------------------------

WRITES, UNKNOWN, READS = "writes", "unknown", "reads"
_RANK = {READS: 0, UNKNOWN: 1, WRITES: 2}
_MAX_DEPTH = 4


def _worst(effects: Iterable[str]) -> str:
    return max(effects, key=_RANK.__getitem__, default=READS)


def _judge_shell(text: str, depth: int = 0) -> tuple[str, bool]:
    """`text` with the commands known to only read blanked, and whether anything in it certainly writes."""
    plain = _plain_judgement(text, depth)
    return plain if plain is not None else _parsed_judgement(text, depth)


# Text made only of these has no quotes, expansions, globs, redirections, operators or comments: each line
# is one simple command whose words are what split() gives, exactly as bash (and bashlex) read it.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_./:=,@%+\- \t\n]*")
# Words that start something else in command position; "time" too (bashlex cannot read it).
_RESERVED = frozenset({"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until",
                       "do", "done", "in", "function", "time", "coproc"})


def _plain_judgement(text: str, depth: int) -> tuple[str, bool] | None:
    """What `_parsed_judgement` says of plain lines of simple commands, without parsing (~100x faster);
    None for any other text. tests/runbooks/test_destructive.py checks the two agree."""
    if not _PLAIN_TEXT.fullmatch(text):
        return None
    lines = []
    for line in text.split("\n"):
        argv = line.split()
        if argv and (argv[0] in _RESERVED or "=" in argv[0]):
            return None  # an assignment or a compound command: the parser's job
        lines.append((line, argv))
    judge = _Judge(depth)
    out = []
    for line, argv in lines:
        effect = judge.argv(argv, "none", None) if argv else UNKNOWN
        if effect == WRITES:
            return text, True
        if effect == READS:
            start = len(line) - len(line.lstrip())
            end = len(line.rstrip())
            line = line[:start] + " " * (end - start) + line[end:]
        out.append(line)
    return "\n".join(out), False


def _parsed_judgement(text: str, depth: int) -> tuple[str, bool]:
    # Placeholders would read as redirects ("<pod>"); give bashlex same-length plain words instead.
    parseable = list(text)
    for p in placeholders(text):
        parseable[p.start:p.end] = "x" * (p.end - p.start)
    try:
        trees = bashlex.parse("".join(parseable))
    except Exception:  # noqa: BLE001 - bashlex raises many types; unparseable text is judged word by word
        return text, bool(_CRUDE_WRITE.search(text))
    judge = _Judge(depth)
    effect = _worst(judge.node(tree) for tree in trees)
    blanked = list(text)
    for start, end in judge.reading:
        blanked[start:end] = " " * (end - start)
    return "".join(blanked), effect == WRITES


class _Judge:
    """Works out, node by node, whether commands write, only read, or are unknown (left to the word search)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.reading: list[tuple[int, int]] = []  # spans of pipelines and commands that only read

    def node(self, node, stdin: str = "none", statement: bool = True) -> str:
        """The effect of a node; a statement (not a pipeline member, not inside $( )) that only reads is
        blanked from the word search: what feeds another command stays, as it may be that command's words."""
        kind = node.kind
        if kind == "command":
            effect = self.command(node, stdin)
            if effect == READS and statement:
                self.reading.append(node.pos)
            return effect
        if kind == "pipeline":
            members = [p for p in node.parts if p.kind not in ("pipe", "reservedword")]
            effect = _worst(self.node(m, "pipe" if i else stdin, statement=False) for i, m in enumerate(members))
            if effect == READS and statement:
                self.reading.append(node.pos)
            return effect
        if kind == "redirect":
            return self.redirect(node)
        if kind == "function":
            return UNKNOWN
        children = [*(getattr(node, "parts", None) or []), *(getattr(node, "list", None) or []),
                    *(getattr(node, "redirects", None) or [])]
        return _worst(self.node(child, stdin, statement) for child in children
                      if child.kind not in ("reservedword", "operator", "pipe"))

    def redirect(self, node) -> str:
        if node.type in ("<", "<<", "<<-", "<<<", "<&"):
            return READS
        target = node.output
        if isinstance(target, int):
            return READS  # onto another descriptor: 2>&1, >&2
        word = getattr(target, "word", "")
        if re.fullmatch(r"/dev/(?:null|stdout|stderr|tty|fd/\d+)|&?-?\d*", word):
            return READS
        return WRITES

    def words_effect(self, words: list) -> str:
        """What the commands inside $( ), `…` and <( ) of these words do."""
        effects = []
        for word in words:
            for part in _walk(word):
                if part.kind in ("commandsubstitution", "processsubstitution"):
                    effects.append(self.node(part.command, statement=False))
        return _worst(effects)

    def command(self, node, stdin: str) -> str:
        words, effects = [], []
        for part in node.parts:
            if part.kind == "redirect":
                effects.append(self.redirect(part))
                if part.type in ("<<", "<<-", "<<<", "<"):
                    stdin = "text" if part.type != "<" else "file"
            elif part.kind == "word":
                words.append(part)
            elif part.kind == "assignment":
                effects.append(self.words_effect([part]))
        effects.append(self.words_effect(words))
        heredoc = next((p.heredoc.value.rsplit("\n", 1)[0] for p in node.parts
                        if p.kind == "redirect" and getattr(p, "heredoc", None) is not None), None)
        if words:
            effects.append(self.argv([w.word for w in words], stdin, heredoc))
        return _worst(effects)

    def shell_text(self, text: str) -> str:
        if self.depth >= _MAX_DEPTH:
            return WRITES
        blanked, writes = _judge_shell(text, self.depth + 1)
        if writes:
            return WRITES
        return READS if not blanked.strip() else UNKNOWN

    def argv(self, argv: list[str], stdin: str, heredoc: str | None) -> str:
        argv = _unwrap(argv)
        if not argv:
            return READS
        base = argv[0].rsplit("/", 1)[-1]
        args = argv[1:]
        if base in _SHELLS:
            if "-c" in args[:-1] or any(re.fullmatch(r"-[a-z]*c[a-z]*", a) for a in args[:-1]):
                code = next((args[i + 1] for i, a in enumerate(args[:-1]) if re.fullmatch(r"-[a-z]*c[a-z]*", a)),
                            "")
                return self.shell_text(code)
            return WRITES  # a shell reading code from a file or a pipe: what it runs cannot be seen
        if base == "watch":
            inner = _after_flags(args, valued={"-n", "--interval", "-q", "--equexit"})
            if "-x" in args or "--exec" in args:
                return self.argv(inner, stdin, heredoc)
            return self.shell_text(" ".join(inner))
        if base == "ssh":
            remote = _ssh_remote_command(args)
            return self.shell_text(" ".join(remote)) if remote else UNKNOWN
        if base == "find":
            return self.find(args)
        if base == "xargs":
            return self.argv(_after_flags(args, valued={"-I", "-i", "-n", "-P", "-d", "-a", "-s", "-L", "-E",
                                                        "--max-args", "--max-procs", "--delimiter",
                                                        "--arg-file"}), "pipe", None)
        judge = _PROGRAMS.get(base)
        if judge is not None:
            return judge(args, stdin, heredoc)
        if base in _WRITERS:
            return WRITES
        if base in _READ_ONLY_PROGRAMS:
            return READS
        return UNKNOWN

    def find(self, args: list[str]) -> str:
        if any(a in ("-delete", "-fprint", "-fprint0", "-fprintf", "-fls") for a in args):
            return WRITES
        effects = []
        for i, arg in enumerate(args):
            if arg in ("-exec", "-execdir", "-ok", "-okdir"):
                end = next((j for j in range(i + 1, len(args)) if args[j] in (";", "+")), len(args))
                effects.append(self.argv(args[i + 1:end], "none", None))
        return _worst(effects)


def _walk(node) -> Iterable:
    yield node
    for child in getattr(node, "parts", []) or []:
        yield from _walk(child)


# --- wrappers, and programs judged by their arguments -------------------------------------------------------

_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh"})
_WRAPPER_VALUED = {
    "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group", "--chdir",
             "--prompt", "--host", "--role", "--type", "--other-user", "--close-from", "--command-timeout"},
    "env": {"-u", "-C", "--unset", "--chdir"},
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "--class", "--classdata"},
    "stdbuf": {"-i", "-o", "-e", "--input", "--output", "--error"},
    "nohup": set(), "command": set(), "builtin": set(), "time": {"-f", "-o", "--format", "--output"},
    "exec": {"-a"},
}


def _after_flags(args: list[str], *, valued: set[str]) -> list[str]:
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            return args[i + 1:]
        i += 2 if args[i] in valued else 1
    return args[i:]


def _unwrap(argv: list[str]) -> list[str]:
    """The command a chain of wrappers (sudo, env, timeout, nice, …) runs."""
    while argv and argv[0].rsplit("/", 1)[-1] in _WRAPPER_VALUED:
        base = argv[0].rsplit("/", 1)[-1]
        rest = _after_flags(argv[1:], valued=_WRAPPER_VALUED[base])
        if base in ("env", "sudo"):
            while rest and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", rest[0]):
                rest = rest[1:]
        if base == "timeout" and rest:
            rest = rest[1:]  # the duration
        if base == "nice" and argv[1:2] and re.fullmatch(r"-\d+", argv[1]):
            rest = argv[2:]
        if base == "command" and {"-v", "-V"} & set(argv[1:2]):
            return []
        argv = rest
    return argv


def _short_bundles(args: list[str], valued: str) -> list[tuple[str, str | None]]:
    """(option, value) pairs from a command line, short bundles split ("-sSLo f" -> -s -S -L -o f)."""
    found: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if arg == "--":
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            found.append((name, value if eq else nxt))
        elif arg.startswith("-") and len(arg) > 1:
            for j, letter in enumerate(arg[1:], start=1):
                if letter in valued:
                    attached = arg[j + 1:]
                    found.append((f"-{letter}", attached or nxt))
                    break
                found.append((f"-{letter}", None))
        i += 1
    return found


_QUIET_TARGET = re.compile(r"-|/dev/(?:null|stdout|stderr|fd/\d+)")


_CURL_SENDS = frozenset({"-O", "--remote-name", "--remote-name-all", "--output-dir", "--create-dirs", "-T",
                         "--upload-file", "-d", "-F", "--json", "--ftp-create-dirs"})


def _ssh_remote_command(args: list[str]) -> list[str]:
    """The command ssh runs on the remote host: the words after the host."""
    words = _positional(args, frozenset({"-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m",
                                         "-O", "-o", "-p", "-Q", "-R", "-S", "-W", "-w"}))
    return words[1:]


def _curl(args, stdin, heredoc) -> str:
    for option, value in _short_bundles(args, "AbCcDdEeFHhKmoQrTtUuwXxYyz"):
        if option in ("-o", "--output", "-D", "--dump-header", "-c", "--cookie-jar", "--trace", "--trace-ascii",
                      "--stderr", "--libcurl", "--etag-save", "--hsts", "--alt-svc"):
            if value is None or not _QUIET_TARGET.fullmatch(value):
                return WRITES
        elif option in _CURL_SENDS or option.startswith(("--data", "--form")) or (
                option in ("-X", "--request") and (value or "").upper() in ("POST", "PUT", "PATCH", "DELETE")):
            return WRITES
    return READS


def _wget(args, stdin, heredoc) -> str:
    for option, value in _short_bundles(args, "aBDeiOoPtTUw"):
        if option in ("-O", "--output-document") and value is not None and _QUIET_TARGET.fullmatch(value):
            return UNKNOWN if any(a.startswith(("--post", "--body", "--method")) for a in args) else READS
        if option == "--spider":
            return READS
    return WRITES  # wget saves what it fetches


_KUBECTL_READS = frozenset({
    "get", "describe", "logs", "top", "explain", "version", "cluster-info", "api-resources", "api-versions",
    "events", "diff", "wait", "completion", "options", "plugin", "kustomize",
})
_KUBECTL_VALUED = frozenset({
    "-n", "--namespace", "--context", "--cluster", "--kubeconfig", "--user", "-s", "--server", "--as",
    "--as-group", "-l", "--selector", "-o", "--output", "-c", "--container", "--since", "--tail", "-f",
    "--filename", "--field-selector", "--request-timeout", "--token", "--sort-by", "--template",
})


def _positional(args: list[str], valued: frozenset[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in valued
        else:
            out.append(arg)
    return out


def _kubectl(args, stdin, heredoc) -> str:
    words = _positional(args, _KUBECTL_VALUED)
    verb = words[0] if words else None
    if verb is None or verb in _KUBECTL_READS:
        return READS
    sub = words[1] if len(words) > 1 else None
    if verb == "rollout" and sub in ("status", "history"):
        return READS
    if verb == "auth" and sub in ("can-i", "whoami"):
        return READS
    if verb == "config" and sub in ("view", "get-contexts", "current-context", "get-clusters", "get-users"):
        return READS
    return WRITES  # apply, create, delete, edit, exec, debug, port-forward, scale, drain, cordon, rollout …


_AWS_READ_PREFIXES = ("describe", "list", "get", "lookup", "head", "filter", "search", "batch-get", "scan",
                      "query", "wait", "tail", "help", "validate", "estimate", "simulate", "test-", "preview")


def _aws(args, stdin, heredoc) -> str:
    words = _positional(args, frozenset({"--region", "--profile", "--output", "--query", "--endpoint-url",
                                         "--color", "--cli-read-timeout", "--cli-connect-timeout"}))
    if not words:
        return READS
    service, operation = words[0], (words[1] if len(words) > 1 else "")
    if service == "help" or operation in ("", "help"):
        return READS
    if service == "s3":
        return READS if operation in ("ls", "presign") else WRITES
    if service == "configure":
        return READS if operation in ("list", "get", "list-profiles") else WRITES
    return READS if operation.startswith(_AWS_READ_PREFIXES) else WRITES


def _psql(args, stdin, heredoc) -> str:
    sql, reads_stdin = [], True
    for option, value in _short_bundles(args, "cdfFhLopPRTUv"):
        if option in ("-o", "--output", "-L", "--log-file"):
            if value is None or not _QUIET_TARGET.fullmatch(value):
                return WRITES
        elif option in ("-c", "--command"):
            sql.append(value or "")
            reads_stdin = False
        elif option in ("-f", "--file"):
            return WRITES if value != "-" else UNKNOWN  # SQL the console cannot see
    if reads_stdin:
        if heredoc is not None:
            sql.append(heredoc)
        elif stdin in ("pipe", "file"):
            return UNKNOWN  # left to the words of the pipeline feeding it
    return WRITES if any(sql_is_destructive(text) for text in sql) else READS


def _tee(args, stdin, heredoc) -> str:
    files = [a for a in args if not a.startswith("-")]
    return WRITES if any(not _QUIET_TARGET.fullmatch(f) for f in files) else READS


def _sed(args, stdin, heredoc) -> str:
    if any(re.fullmatch(r"-[A-Za-z]*i.*|--in-place(=.*)?", a) for a in args):
        return WRITES
    scripts = [a for a in args if not a.startswith("-")][:1] + [args[i + 1] for i, a in enumerate(args[:-1])
                                                                 if a in ("-e", "--expression")]
    if any(re.search(r"(?:^|[;}\s/])[wW]\s*\S|/w\s", s) for s in scripts):
        return WRITES  # the w command writes a file
    return READS


def _awk(args, stdin, heredoc) -> str:
    program = next((a for a in args if not a.startswith("-")), "")
    if "-i" in args or re.search(r"system\s*\(|\b(?:print|printf)\b[^;}]*(?:>|\|)|\|\s*getline", program):
        return WRITES
    return READS


def _sort(args, stdin, heredoc) -> str:
    return WRITES if any(o in ("-o", "--output") for o, _ in _short_bundles(args, "okST")) else READS


def _uniq(args, stdin, heredoc) -> str:
    return WRITES if len([a for a in args if not a.startswith("-")]) >= 2 else READS


def _tar(args, stdin, heredoc) -> str:
    first = args[0] if args else ""
    letters = first.lstrip("-") if first and not first.startswith("--") else ""
    if "t" in letters or "--list" in args:
        return READS
    return WRITES


def _compressor(args, stdin, heredoc) -> str:
    flags = {o for o, _ in _short_bundles(args, "S")}
    return READS if flags & {"-c", "--stdout", "-l", "--list", "-t", "--test"} else WRITES


def _subcommand_reads(reads: frozenset[str], valued: frozenset[str] = frozenset()):
    def judge(args, stdin, heredoc) -> str:
        words = _positional(args, valued)
        if not words:
            return READS
        return READS if words[0] in reads else WRITES
    return judge


def _git(args, stdin, heredoc) -> str:
    words = _positional(args, frozenset({"-C", "-c", "--git-dir", "--work-tree"}))
    if not words:
        return READS
    verb = words[0]
    if verb in ("status", "log", "diff", "show", "blame", "grep", "ls-files", "ls-remote", "ls-tree", "rev-parse",
                "describe", "shortlog", "reflog", "cat-file", "rev-list", "whatchanged", "version", "help"):
        return READS
    if verb == "remote" and (len(words) == 1 or words[1] in ("show", "get-url")):
        return READS
    if verb in ("branch", "tag") and len(words) == 1:
        return READS
    if verb == "config" and any(a in ("--get", "--get-all", "--list", "-l", "--get-regexp") for a in args):
        return READS
    return WRITES


def _changes_with_arguments(args, stdin, heredoc) -> str:
    """hostname NAME, date -s …: with an argument that sets, a change."""
    if any(a in ("-s", "--set", "-F", "--file", "-b", "--boot") for a in args) or any(
            not a.startswith(("-", "+")) for a in args):
        return WRITES
    return READS


def _crontab(args, stdin, heredoc) -> str:
    return READS if args and all(a in ("-l", "-u") or not a.startswith("-") for a in args) and "-l" in args \
        else WRITES


def _journalctl(args, stdin, heredoc) -> str:
    return WRITES if any(a.startswith(("--vacuum", "--rotate", "--flush", "--sync", "--relinquish")) for a in args) \
        else READS


_PROGRAMS = {
    "curl": _curl, "wget": _wget, "kubectl": _kubectl, "aws": _aws, "psql": _psql, "tee": _tee, "sed": _sed,
    "awk": _awk, "gawk": _awk, "mawk": _awk, "sort": _sort, "uniq": _uniq, "tar": _tar, "git": _git,
    "gzip": _compressor, "gunzip": _compressor, "bzip2": _compressor, "xz": _compressor, "zstd": _compressor,
    "hostname": _changes_with_arguments, "date": _changes_with_arguments, "crontab": _crontab,
    "journalctl": _journalctl,
    "helm": _subcommand_reads(frozenset({"list", "ls", "status", "get", "history", "show", "template", "version",
                                         "search", "env", "lint", "verify"}), frozenset({"-n", "--namespace"})),
    "docker": _subcommand_reads(frozenset({"ps", "images", "logs", "inspect", "version", "info", "stats", "top",
                                           "events", "port", "diff", "history", "search"})),
    "podman": _subcommand_reads(frozenset({"ps", "images", "logs", "inspect", "version", "info", "stats", "top",
                                           "events", "port", "diff", "history", "search"})),
    "systemctl": _subcommand_reads(frozenset({"status", "show", "list-units", "list-unit-files", "list-timers",
                                              "is-active", "is-enabled", "is-failed", "cat", "list-dependencies",
                                              "list-sockets"})),
}
# Programs whose use is a change, whatever their arguments.
_WRITERS = frozenset({
    "cp", "mv", "rm", "rmdir", "ln", "install", "touch", "mkdir", "mkfifo", "mknod", "dd", "truncate", "shred",
    "chmod", "chown", "chgrp", "chattr", "rsync", "scp", "sftp", "unzip", "patch", "split", "csplit", "kill",
    "pkill", "killall", "reboot", "shutdown", "halt", "poweroff", "useradd", "userdel", "usermod", "groupadd",
    "groupdel", "passwd", "mount", "umount", "iptables", "ip6tables", "nft", "sysctl", "service", "apt", "apt-get",
    "dpkg", "yum", "dnf", "pip", "npm", "mkfs", "fdisk", "parted", "swapoff", "swapon", "modprobe", "rmmod",
    "insmod", "logrotate", "ssh-keygen", "ssh-copy-id", "openssl", "terraform", "ansible", "ansible-playbook",
})
# Programs that only read and print: their arguments are data, so "grep restart app.log" is not a restart.
_READ_ONLY_PROGRAMS = frozenset({
    "grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "less", "more", "head", "tail", "wc", "cat", "zcat",
    "cut", "echo", "printf", "ls", "jq", "yq", "column", "nl", "df", "du", "uptime", "free", "ps", "pgrep", "pidof",
    "uname", "id", "whoami", "groups", "env", "printenv", "sleep", "true", "false", "test", "[", "cd", "pwd", "set",
    "export", "read", "wait", "exit", "shift", "break", "continue", ":", "stat", "file", "readlink", "realpath",
    "basename", "dirname", "md5sum", "sha1sum", "sha256sum", "base64", "diff", "cmp", "comm", "join", "paste", "tr",
    "fold", "fmt", "expand", "rev", "tac", "od", "xxd", "hexdump", "strings", "seq", "dig", "nslookup", "host",
    "ping", "traceroute", "ss", "netstat", "lsof", "vmstat", "iostat", "mpstat", "nproc", "lscpu", "lsblk", "w",
    "who", "last", "tree", "which", "type", "getent", "locale", "numfmt", "expr",
})
