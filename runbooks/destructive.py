"""Whether a command could change or destroy something: `is_destructive(text, language)`, erring towards yes."""

from __future__ import annotations

import re
from collections.abc import Iterable

import bashlex

from . import languages
from .commandtext import placeholders

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
    lang = languages.normalise(language)
    if lang == languages.SQL:
        return any(p.search(text) for p in _SQL_DESTRUCTIVE)
    judged = text
    if lang in (languages.BASH, languages.CONSOLE):
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
