"""Code blocks read by what they are, not by their fence label.

A fence labelled `console` may hold commands without prompts, log lines, a `$`/`#` session or even prose;
one labelled `output` may hold PowerShell commands; one labelled `bash` may hold a ticket template. Each
block is read into a CodeReading:

    command     the whole block is one command (however many lines, comments kept)
    transcript  a console session: each prompted line (with its `\\` continuations) is a command, the rest
                is output whose error lines become error patterns
    output      logs, sample output, payloads: no command; error lines become error patterns
    query       PromQL, LogQL, SQL and friends: one command, language kept
    config      JSON/YAML/HCL/Dockerfile snippets: a command only when the sentence over it says to apply
                it (the block reader decides, see `config_is_command`)
    prose       sentences written in a fence: commands named inside them in parentheses are kept

`read_code` is pure: the same block text, language and introduction always give the same reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import yaml

from runbooks.importer.commands import block_command, command_line, guess_language, is_program
from runbooks.importer.types import ImportedCommand

QUERY_LANGUAGES = frozenset(
    """
    promql logql metricsql kql kusto splunk spl traceql graphql cql cypher influxql flux lucene
    """.split()  # noqa: SIM905 - a word list reads better as words
)
CONFIG_LANGUAGES = frozenset(
    """
    json jsonc json5 yaml yml hcl tf terraform toml xml ini conf cfg properties dockerfile nginx env
    """.split()  # noqa: SIM905 - a word list reads better as words
)
OUTPUT_LANGUAGES = frozenset(
    """
    output log logs text txt plaintext plain stdout stderr
    """.split()  # noqa: SIM905 - a word list reads better as words
)
SHELL_LANGUAGES = frozenset(
    """
    bash sh shell zsh fish ksh console shell-session shellsession terminal powershell ps ps1 pwsh cmd
    bat batch
    """.split()  # noqa: SIM905 - a word list reads better as words
)

# prompts: '$ cmd', '# cmd' (root), '❯ cmd', '> cmd', 'C:\> cmd', 'PS C:\> cmd', 'user@host:~$ cmd'
_PROMPT = re.compile(
    r"^\s*(?:\[?[\w.-]+@[\w.-]+[^\]$#\n]*\]?[$#]|PS [A-Za-z]:\\[^>\n]*>|[A-Za-z]:\\[^>\n]*>|[$#❯›%]|>)(?: |$)"
)
_DOLLAR_PROMPT = re.compile(r"^\s*(?:\[?[\w.-]+@[\w.-]+[^\]$#\n]*\]?\$|\$|❯|›)(?: |$)")
_ROOT_PROMPT = re.compile(r"^\s*#(?: |$)")
_ANGLE_PROMPT = re.compile(r"^\s*(?:PS )?(?:[A-Za-z]:\\[^>\n]*)?>(?: |$)")

_LOG_LINE = re.compile(
    r"^\s*(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|[IWEF]\d{4} \d{2}:\d{2}:\d{2}|\[?\d{2}:\d{2}:\d{2}"
    r"|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}"
    r"|\[?(?:ERROR|WARN(?:ING)?|INFO|DEBUG|FATAL|TRACE|CRITICAL|NOTICE)\]?[:\s]"
    r"|(?:error|fatal|warning|panic|exception|traceback|caused by)\b\s*:"
    r"|(?:time|ts|level)=|\w+Error:|\w+Exception:|\[(?:SC|\w+)\] )",
    re.IGNORECASE,
)
_ERROR_WORDS = re.compile(
    r"\b(?:error|errors|fail(?:ed|ure|s)?|fatal|denied|refused|time(?:d)? ?out|timeout|exception|unable"
    r"|cannot|can't|invalid|degraded|panic|unexpected|not found|unavailable|conflict)\b",
    re.IGNORECASE,
)
_KLOG_HEAD = re.compile(r"^\s*(?:\S+Z\s+)?[IWEF]\d{4} [\d:.]+\s+\d+\s+[\w./-]+:\d+\]\s*")
_MSG_FIELD = re.compile(r"\bmsg=\"([^\"]{3,300})\"")
_LEVEL_HEAD = re.compile(
    r"^\s*(?:\d{4}-\d{2}-\d{2}[T ][\d:.,]+Z?\s*|\[?(?:ERROR|WARN(?:ING)?|INFO|DEBUG|FATAL|CRITICAL)\]?[:\s]\s*)+",
    re.IGNORECASE,
)
_DOCKERFILE = re.compile(
    r"^\s*(?:FROM|RUN|CMD|ENTRYPOINT|COPY|ADD|WORKDIR|SHELL|ENV|EXPOSE|USER|VOLUME|ARG|LABEL|HEALTHCHECK"
    r"|ONBUILD|STOPSIGNAL)\b"
)
_PAREN_COMMAND = re.compile(r"\(([a-z][\w.-]*(?: [^()\n]+)?)\)")
_SENTENCE = re.compile(r"^[-*•]?\s*[A-Za-z][a-z]+(?:[ ,'-]+\S+){3,}")
_YAML_ALERT_KEYS = ("alertname", "severity", "service", "team", "owner")


@dataclass(slots=True)
class CodeReading:
    kind: str  # command | transcript | output | query | config | prose | empty
    commands: list[ImportedCommand] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # alert labels of a YAML/JSON alert payload


def read_code(text: str, language: str | None) -> CodeReading:
    """What a code block holds (see the module docstring); cached, blocks repeat across a document."""
    return _read(text, (language or "").lower())


@lru_cache(maxsize=4096)
def _read(text: str, language: str) -> CodeReading:
    lines = _trim(text.split("\n"))
    if not lines:
        return CodeReading("empty")
    body = "\n".join(lines)
    words = [line for line in lines if line.strip()]
    if language in QUERY_LANGUAGES:
        return CodeReading("query", [ImportedCommand(language, body)])
    prompts = _prompt_lines(words)
    if prompts:
        return _transcript(lines, prompts, language)
    dockerfile = _looks_dockerfile(words)
    if language in CONFIG_LANGUAGES or dockerfile:
        config_language = "dockerfile" if dockerfile else language
        reading = CodeReading("config", [ImportedCommand(config_language, body)])
        reading.labels = _payload_labels(body, language)
        return reading
    commandish = [line for line in words if command_line(line)]
    if language in OUTPUT_LANGUAGES and not commandish:
        return CodeReading("output", errors=_errors(words))
    if not commandish and _all_log(words):
        return CodeReading("output", errors=_errors(words))
    if not commandish and (language in ("console", "", "text", "shell-session", "terminal") or not language):
        prose = _prose_commands(words)
        if prose:
            return CodeReading("prose", prose)
        if all(_SENTENCE.match(line) or _LOG_LINE.match(line) or _ERROR_WORDS.search(line) for line in words):
            return CodeReading("output", errors=_errors(words))
    if language in ("", "text", "txt", "plaintext", "output") and not commandish and not _code_like(words):
        # a message to post, a template to paste: text a responder types, kept as one command
        return CodeReading("command", [ImportedCommand("text", body)])
    command = block_command(body, language or None)
    if command is None:
        return CodeReading("empty")
    if language in ("", "output") and command.language == "text" and commandish:
        command = ImportedCommand(guess_language(body), body)
    return CodeReading("command", [command])


def _trim(lines: list[str]) -> list[str]:
    """Drop leading/trailing blank lines and the indentation every line shares (fences inside lists)."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    lines = lines[start:end]
    indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return [line[cut:] if line.strip() else "" for line in lines]


# --- console transcripts -------------------------------------------------------------------------------


def _prompt_lines(words: list[str]) -> list[int]:
    """Indexes (into `words`) of prompted lines, or [] when the block is not a console session.

    '$ ' and 'C:\\> ' prompts count wherever they are. '# ' is a root prompt only beside other prompts or
    when every line is '# program ...' (otherwise it is a comment); '> ' only when what follows is a
    command (otherwise it is a quote or a diff)."""
    dollar = [n for n, line in enumerate(words) if _DOLLAR_PROMPT.match(line) and _after_prompt(line)]
    angle = [
        n
        for n, line in enumerate(words)
        if _ANGLE_PROMPT.match(line) and is_program(_first(_after_prompt(line)))
    ]
    if not dollar and not angle:
        roots = [n for n, line in enumerate(words) if _ROOT_PROMPT.match(line)]
        if roots and len(roots) == len(words) and all(is_program(_first(_after_prompt(w))) for w in words):
            return roots
        return []
    roots = [n for n, line in enumerate(words) if _ROOT_PROMPT.match(line) and _rooted(_after_prompt(line))]
    return sorted({*dollar, *angle, *roots})


def _rooted(text: str) -> bool:
    """'# chroot /host' beside '$ ' prompts is a root prompt; '# Wait for the pod' is a comment."""
    word = _first(text)
    if is_program(word):
        return True
    return bool(re.fullmatch(r"[a-z][a-z0-9._-]{1,30}", word)) and bool(re.search(r"\s(?:-{1,2}\w|/)", text))


def _after_prompt(line: str) -> str:
    match = _PROMPT.match(line)
    return line[match.end() :].strip() if match else line.strip()


def _first(text: str) -> str:
    parts = text.split(None, 1)
    return parts[0] if parts else ""


def _transcript(lines: list[str], prompts: list[int], language: str) -> CodeReading:
    words = [line for line in lines if line.strip()]
    prompted = set(prompts)
    commands: list[ImportedCommand] = []
    output: list[str] = []
    n = 0
    while n < len(words):
        line = words[n]
        if n in prompted:
            parts = [_after_prompt(line)]
            while parts[-1].endswith("\\") and n + 1 < len(words) and n + 1 not in prompted:
                n += 1
                parts.append(words[n].strip())
            text = "\n".join(parts).strip()
            if text:
                commands.append(ImportedCommand(language or guess_language(text), text))
        else:
            output.append(line)
        n += 1
    # an echoed command line under its prompt ('> kubectl get x' then 'kubectl get x') is output too
    echoed = {c.text for c in commands}
    output = [line for line in output if line.strip() not in echoed]
    return CodeReading("transcript", commands, _errors(output))


# --- output and error patterns --------------------------------------------------------------------------


def _all_log(words: list[str]) -> bool:
    logged = sum(1 for line in words if _LOG_LINE.match(line) or _KLOG_HEAD.match(line))
    return logged > 0 and logged * 2 >= len(words)


def _errors(lines: list[str]) -> list[str]:
    """Error messages in output lines: the message without its timestamp/level/klog header."""
    found: list[str] = []
    for line in lines:
        if not _ERROR_WORDS.search(line):
            continue
        msg = _MSG_FIELD.search(line)
        text = msg.group(1) if msg else _LEVEL_HEAD.sub("", _KLOG_HEAD.sub("", line)).strip()
        text = text.strip(" :\\")
        if 6 <= len(text) <= 300 and text not in found:
            found.append(text)
        if len(found) >= 10:
            break
    return found


def _code_like(words: list[str]) -> bool:
    """Lines with the punctuation of code (braces, assignments, calls) rather than of sentences."""
    codeish = sum(1 for line in words if re.search(r"[{};=]|\w\(|::|->|\$\w", line))
    return codeish * 2 > len(words)


def _prose_commands(words: list[str]) -> list[ImportedCommand]:
    """'-delete the currentconfig(rm /etc/x/currentconfig)': the command named inside a sentence."""
    if not all(_SENTENCE.match(line) for line in words):
        return []
    found = []
    for line in words:
        for match in _PAREN_COMMAND.finditer(line):
            inner = match.group(1).strip()
            if is_program(_first(inner)) and len(inner.split()) >= 2:
                found.append(ImportedCommand(guess_language(inner), inner))
    return found


# --- configuration and payloads ------------------------------------------------------------------------


def _looks_dockerfile(words: list[str]) -> bool:
    instructions = sum(1 for line in words if _DOCKERFILE.match(line))
    code = [line for line in words if not line.lstrip().startswith("#")]
    return bool(code) and instructions * 2 > len(code)


def _payload_labels(body: str, language: str) -> dict[str, str]:
    """The alert labels of an alert payload ('alertname: X', 'severity: warning')."""
    if language not in ("yaml", "yml", "json") or len(body) > 20_000 or "alertname" not in body:
        return {}
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError:
        return {}
    if isinstance(data, dict) and isinstance(data.get("labels"), dict):
        data = data["labels"]
    if not isinstance(data, dict):
        return {}
    return {k: str(data[k]).strip()[:120] for k in _YAML_ALERT_KEYS if isinstance(data.get(k), (str, int))}
