"""Bytes to clean text: byte-order marks, UTF-8 / UTF-16 / Windows-1252, line endings, mojibake.

Runbooks arrive as files exported from wikis, chat tools and Windows editors, so the same document can
come as UTF-16 with a BOM, as cp1252, or as UTF-8 once decoded as cp1252 and saved again ('ðŸš¨' for '🚨').
Anything that is not text at all is refused with a reason a person understands.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

import ftfy

SAMPLE = 64 * 1024

# File signatures seen when someone uploads the wrong file; naming the kind makes the error actionable.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF file"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Only these fixes: the others (curly quotes, widths, ligatures, HTML entities) would change what a responder
# types, and commands must stay exactly as written.
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)

# A UTF-8 lead byte (0xC2-0xF4) read as cp1252 or Latin-1 is always one of these characters, so a line
# without any cannot be mojibake and ftfy need not look at it: that keeps big documents fast.
_SUSPECT = re.compile("[\u00c2-\u00f4]")
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_TEXT_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


class UnreadableDocument(ValueError):
    """The bytes are not a text document; the message says why, for the person who uploaded it."""


@dataclass
class DecodedText:
    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    # The five bytes cp1252 leaves undefined become their Latin-1 code points instead of failing.
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("runbooks-cp1252-latin1", _cp1252_fallback)


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte is NUL, as in ASCII text saved as UTF-16."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / max(len(odd), 1)
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _binary_reason(data: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return f"the file is {kind}, not a text document (Markdown or plain text)"
    sample = data[:SAMPLE]
    if b"\x00" in sample:
        return "the file is binary (it contains NUL bytes), not a text document (Markdown or plain text)"
    if len(_CONTROL.findall(sample)) > max(8, len(sample) // 100):
        return "the file is binary (it is full of control characters), not a text document"
    return None


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252, line by line, touching only lines that could be mojibake."""
    if text.isascii():
        return text
    parts: list[str] = []
    done = 0
    pos = 0
    while True:
        match = _SUSPECT.search(text, pos)
        if match is None:
            break
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.start())
        end = len(text) if end == -1 else end
        line = text[start:end]
        fixed = ftfy.fix_text(line, _FTFY)
        if fixed != line:
            parts.append(text[done:start])
            parts.append(fixed)
            done = end
        pos = end + 1
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def decode(data: bytes) -> DecodedText:
    """Bytes to text with '\\n' line ends and mojibake repaired; UnreadableDocument when it is not text."""
    if not data.strip() or not data.strip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n"):
        raise UnreadableDocument("the file is empty")
    warnings: list[str] = []
    encoding = None
    body = data
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, body = name, data[len(bom) :]
            break
    if encoding is None:
        for magic, kind in _MAGIC:  # before the UTF-16 guess: a ZIP header has NULs in the right places too
            if data.startswith(magic):
                raise UnreadableDocument(f"the file is {kind}, not a text document (Markdown or plain text)")
        encoding = _utf16_without_bom(data[:SAMPLE])
        if encoding:
            warnings.append(f"the file has no byte-order mark; read as {encoding.upper()}")
    if encoding is None or encoding == "utf-8":
        reason = _binary_reason(body)
        if reason:
            raise UnreadableDocument(reason)
        try:
            text = body.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            text = body.decode("cp1252", errors="runbooks-cp1252-latin1")
            encoding = "cp1252"
            warnings.append("the file is not valid UTF-8; it was read as Windows-1252 (cp1252)")
    else:
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            text = body.decode(encoding, errors="replace")
            warnings.append(f"some bytes are not valid {encoding.upper()}; they were replaced with '\ufffd'")
        sample = text[:SAMPLE]
        if "\x00" in text or len(_TEXT_CONTROL.findall(sample)) > max(8, len(sample) // 100):
            raise UnreadableDocument(
                "the file is binary (it contains control characters), not a text document"
            )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UnreadableDocument("the file is empty")
    return DecodedText(repair_mojibake(text), encoding, warnings)
