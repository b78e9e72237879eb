"""Bytes to text: encodings, byte-order marks, line endings, mojibake, and files that are not text."""

from __future__ import annotations

import codecs

import pytest

from runbooks.importer.text import UnreadableDocument, decode, repair_mojibake

SAMPLE = "# Queue backlog 🚦\n\nDrain the café queue — then restart:\n"


def test_utf8_with_a_bom_loses_the_bom():
    decoded = decode(codecs.BOM_UTF8 + SAMPLE.encode())
    assert decoded.text == SAMPLE
    assert decoded.warnings == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_bom_are_decoded(encoding):
    data = SAMPLE.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert decode(data).text == SAMPLE


def test_utf16_without_a_bom_is_recognised_and_noted():
    decoded = decode("# Cache warmer\n\n- restart it\n".encode("utf-16-le"))
    assert decoded.text.startswith("# Cache warmer")
    assert "UTF-16-LE" in decoded.warnings[0]


def test_windows_1252_is_the_fallback_and_says_so():
    decoded = decode("Vérifier le débit – “quotes”\n".encode("cp1252"))
    assert decoded.text == "Vérifier le débit – “quotes”\n"
    assert decoded.encoding == "cp1252"
    assert "Windows-1252" in decoded.warnings[0]


def test_crlf_and_lone_cr_become_newlines():
    assert decode(b"a\r\nb\rc\n").text == "a\nb\nc\n"


def test_utf8_read_as_cp1252_is_repaired():
    garbled = "## 🔥 Broker down ✅ → ok".encode().decode("cp1252", errors="ignore")
    assert "ð" in garbled
    assert decode(garbled.encode()).text.startswith("## 🔥 Broker down ✅")


def test_real_accents_are_left_alone():
    assert repair_mojibake("Café crème, naïve résumé") == "Café crème, naïve résumé"


def test_lines_without_suspect_characters_are_not_touched():
    text = "plain — line with “curly quotes” and an emoji 🚀\n" * 3
    assert repair_mojibake(text) is text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b" \n\t\r\n", "empty"),
        (codecs.BOM_UTF8, "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
        (b"\x00\x01\x02\x03binary\x00" * 50, "binary"),
        (bytes(range(1, 32)) * 40, "binary"),
    ],
)
def test_things_that_are_not_text_are_refused_with_a_reason(data, reason):
    with pytest.raises(UnreadableDocument, match=reason):
        decode(data)
