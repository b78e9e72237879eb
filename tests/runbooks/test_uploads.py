"""A zip of a runbooks folder is read in memory as hostile input: its documents, or a refusal naming why."""

from __future__ import annotations

import io
import zipfile

import pytest

from runbooks.uploads import ZIP_MAX_DOCUMENTS, UploadRefused, looks_like_zip, unpack_zip

LIMIT = 5 * 1024 * 1024


def make_zip(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def test_the_documents_of_a_folder_come_out_in_name_order_and_the_rest_is_listed():
    data = make_zip({"runbooks/b.md": b"# B\n", "runbooks/a.txt": b"A\n", "runbooks/img/logo.png": b"\x89PNG",
                     "runbooks/.DS_Store": b"x", "__MACOSX/runbooks/._a.txt": b"x", "runbooks/": b""})
    unpacked = unpack_zip("team.zip", data, max_member_bytes=LIMIT)
    assert [name for name, _ in unpacked.documents] == ["runbooks/a.txt", "runbooks/b.md"]
    assert unpacked.documents[1][1] == b"# B\n"
    assert unpacked.left_out == ["team.zip: runbooks/img/logo.png (not a runbook document: .md, .markdown, .txt)"]


@pytest.mark.parametrize("name", ["../../etc/passwd.md", "/etc/motd.md", "runbooks/../../x.md", "C:/x.md",
                                  "runbooks\\..\\x.md"])
def test_a_member_pointing_outside_the_folder_refuses_the_whole_zip(name):
    data = make_zip({"runbooks/ok.md": b"# OK\n", name: b"# bad\n"})
    with pytest.raises(UploadRefused, match="points outside the folder"):
        unpack_zip("team.zip", data, max_member_bytes=LIMIT)


def test_a_zip_bomb_is_refused_from_its_header_before_anything_is_unpacked():
    data = make_zip({"bomb.md": b"\n" * (20 * 1024 * 1024)})
    assert len(data) < 100_000
    with pytest.raises(UploadRefused, match="uncompressed"):
        unpack_zip("bomb.zip", data, max_member_bytes=LIMIT)


def test_a_member_that_compresses_like_a_bomb_is_refused_even_under_the_size_limit():
    data = make_zip({"bomb.md": b"a" * (4 * 1024 * 1024)})
    with pytest.raises(UploadRefused, match="zip bomb"):
        unpack_zip("bomb.zip", data, max_member_bytes=LIMIT)


def test_a_header_that_lies_about_the_size_refuses_the_zip():
    data = bytearray(make_zip({"liar.md": b"# x\n" + b"y" * 3000}, compression=zipfile.ZIP_STORED))
    # shrink the declared size in both headers: the reader must stop at its own limit, not trust them
    original = (3004).to_bytes(4, "little")
    data = bytes(data).replace(original, (10).to_bytes(4, "little"))
    with pytest.raises(UploadRefused, match="liar.md (cannot be read|is bigger than its header says)"):
        unpack_zip("liar.zip", data, max_member_bytes=100)


def _set_encrypted_flag(data: bytes) -> bytes:
    """Mark every member encrypted in its local and central headers (zipfile writes no encrypted zips)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at >= 0:
            out[at + offset] |= 0x1
            at = out.find(signature, at + 4)
    return bytes(out)


def test_an_encrypted_member_is_refused():
    data = _set_encrypted_flag(make_zip({"secret.md": b"# x\n"}))
    with pytest.raises(UploadRefused, match="encrypted"):
        unpack_zip("team.zip", data, max_member_bytes=LIMIT)


def test_too_many_documents_are_refused_with_the_limit_named():
    data = make_zip({f"r/{n}.md": b"# x\n" for n in range(ZIP_MAX_DOCUMENTS + 1)})
    with pytest.raises(UploadRefused, match=f"at most {ZIP_MAX_DOCUMENTS}"):
        unpack_zip("team.zip", data, max_member_bytes=LIMIT)


@pytest.mark.parametrize("data, says", [
    (b"PK\x03\x04 this is not really a zip", "not a zip file that can be read"),
    (make_zip({"logo.png": b"\x89PNG"}), "holds no runbook documents"),
    (make_zip({}), "holds no runbook documents"),
])
def test_a_zip_that_is_broken_or_holds_no_documents_says_so(data, says):
    with pytest.raises(UploadRefused, match=says):
        unpack_zip("team.zip", data, max_member_bytes=LIMIT)


def test_a_zip_is_known_by_its_bytes_or_its_name():
    assert looks_like_zip("x.bin", make_zip({"a.md": b"# a"}))
    assert looks_like_zip("runbooks.ZIP", b"garbage")
    assert not looks_like_zip("notes.md", b"# PK\x03\x04 in text")
