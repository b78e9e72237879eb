"""Redaction of what a command prints: known secrets and anything shaped like one, even across chunks; and
terminal escape codes, which could hide text, rewrite a reader's terminal title or split a secret."""


from __future__ import annotations

import re
from collections.abc import Iterable

# --- redaction ------------------------------------------------------------------------------------------

MIN_SECRET_LENGTH = 4  # shorter "secrets" ("1", "prod") would blank ordinary output
# "pwd" only as part of a longer name (db_pwd): PWD= is in every environment dump.
_KEYS = (r"(?:password|passwd|[_.-]pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
         r"|credential)")


def _keep_quotes(m: re.Match) -> str:
    value = m.group(2)
    quote = value[0] if value[:1] in ("'", '"') and len(value) > 1 and value[-1] == value[0] else ""
    return f"{m.group(1)}{quote}***{quote}"


# None of these may match across a newline: Redactor releases whole lines as soon as they are complete.
_PATTERNS: list[tuple[re.Pattern, object]] = [
    # Greedy, so a password holding "@" is hidden whole; bounded, so a long line costs linear time.
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/@'\"]{0,256}:)[^\s'\"]{1,256}(?=@)"), r"\1***"),
    (re.compile(r"(?i)(\bauthorization[\"']?[ \t]*[:=][ \t]*[\"']?"
                r"(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?)[^\s'\",;]+"), r"\1***"),
    (re.compile(r"(?i)(\bbearer[ \t]+)[A-Za-z0-9\-._~+/]+=*"), r"\1***"),
    (re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), r"\1***"),
    (re.compile(r"(?i)((?<![A-Za-z0-9])--?(?:password|passwd|token|secret|api-key|apikey|access-key"
                r"|secret-key)[ \t]+)(\"[^\"\n]*\"|'[^'\n]*'|[^\s'\"]+)"), _keep_quotes),
    (re.compile(rf"(?i)({_KEYS}[A-Za-z0-9_.-]{{0,40}}[\"']?[ \t]*[:=][ \t]*)"
                r"(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;&]+)"), _keep_quotes),
    (re.compile(r"(?i)(\bpassword[ \t]+)('[^'\n]*')"), _keep_quotes),
    (re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{20,}"), r"\1***"),
    (re.compile(r"\b(xox[abposr]-)[A-Za-z0-9-]{10,}"), r"\1***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), "***"),
]
# CSI (colours, cursor moves), OSC (titles, hyperlinks), other ESC sequences, C1 controls, and the C0 controls
# that move the cursor or ring the bell; tabs and newlines stay, a carriage return becomes a newline.
_TERMINAL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|\x1b[P^_X][^\x1b\n]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?|\x9b[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]"
)


def strip_terminal_codes(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tabs and newlines kept)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _TERMINAL.sub("", text)


_BEGIN_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_END_KEY = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")


class Redactor:
    """Redacts streamed output, releasing text only once no secret can span what comes next.

    Complete lines go out as soon as they arrive (no pattern crosses a newline). A line longer than
    `max_line` is released in pieces, keeping back the last `overlap` characters and never cutting through
    something that looks like a secret.
    """

    def __init__(self, secrets: Iterable[str] = (), *, max_line: int = 64 * 1024,
                 overlap: int = 4096) -> None:
        lines = {line for secret in secrets if secret for line in str(secret).splitlines()
                 if len(line.strip()) >= MIN_SECRET_LENGTH}
        ordered = sorted(lines, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._overlap = max(overlap, (len(ordered[0]) + 1) if ordered else 0)
        self._max_line = max(max_line, 2 * self._overlap)
        self._buffer = ""
        self._in_key = False

    @property
    def pending(self) -> int:
        """Characters held back, waiting for the rest of their line."""
        return len(self._buffer)

    def feed(self, chunk: str) -> str:
        self._buffer += chunk
        cut = self._buffer.rfind("\n") + 1
        if cut == 0 and len(self._buffer) > self._max_line:
            cut = self._safe_cut()
        if cut <= 0:
            return ""
        text, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._redact(text)

    def flush(self) -> str:
        text, self._buffer = self._buffer, ""
        return self._redact(text)

    def _safe_cut(self) -> int:
        buffer = self._buffer
        cut = len(buffer) - self._overlap
        spans = [m.span() for pattern, _ in _PATTERNS for m in pattern.finditer(buffer)]
        if self._secrets:
            spans += [m.span() for m in self._secrets.finditer(buffer)]
        moved = True
        while moved and cut > 0:
            moved = False
            for start, end in spans:
                if start < cut < end:
                    cut, moved = start, True
        if cut <= 0 and len(buffer) > 16 * self._max_line:
            cut = len(buffer) - self._overlap  # a "secret" this long is not one; memory matters more
        return cut

    def _redact(self, text: str) -> str:
        text = strip_terminal_codes(text)  # first: "hunt\x1b[0mer2" must still read as the secret
        if not self._in_key and "PRIVATE KEY-----" not in text:
            return self._redact_line(text)  # no pattern crosses a newline, so a block is as good as its lines
        out = []
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            ending = line[len(body):]
            if self._in_key:
                if _END_KEY.search(body):
                    self._in_key = False
                    out.append(line)
                else:
                    out.append(("***" if body else "") + ending)
                continue
            if _BEGIN_KEY.search(body) and not _END_KEY.search(body):
                self._in_key = True
            out.append(self._redact_line(body) + ending)
        return "".join(out)

    def _redact_line(self, text: str) -> str:
        if self._secrets:
            text = self._secrets.sub("***", text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with passwords, tokens, keys and the given literal secrets replaced by ***."""
    redactor = Redactor(secrets)
    return redactor.feed(text) + redactor.flush()
