"""What an uploaded zip of a runbooks folder holds: its documents, read in memory, never written to disk.

A zip comes from outside, so it is read as hostile: a member named `../../etc/x` or `/etc/x` (path traversal),
an encrypted member, more members than a folder of runbooks has, or sizes that only a zip bomb has (declared or
discovered while reading: a member is never read past its limit) refuse the whole upload, with the member named.
Members that are not documents (images, PDFs, a zip inside the zip, links) are left out and listed, so the
person sees what was not imported; a document that turns out not to be text is refused by the upload form, as a
single uploaded file would be. No ORM here: the form and the import views decide what to do with the result.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# What `import_runbooks DIR` imports from a folder, and what a zip of that folder contributes.
DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".html.md", ".md.erb", ".markdown.erb")
ZIP_MAX_MEMBERS = 1000  # entries of any kind, folders included
ZIP_MAX_DOCUMENTS = 200
ZIP_MAX_TOTAL_BYTES = 50 * 1024 * 1024  # all documents together, uncompressed
ZIP_MAX_RATIO = 100  # uncompressed / compressed; text compresses 3-10 times, a bomb thousands
_RATIO_FLOOR = 1024 * 1024  # small members may compress very well (a file of blank lines) without harm
_NOISE = re.compile(r"(^|/)(__MACOSX|\.git|\.svn)(/|$)|(^|/)\.[^/]*$|(^|/)(Thumbs\.db|desktop\.ini)$", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")


class UploadRefused(ValueError):
    """The upload cannot be imported; the message names the file (and member) and says why."""


@dataclass
class Unpacked:
    documents: list[tuple[str, bytes]] = field(default_factory=list)  # (member path, bytes), in name order
    left_out: list[str] = field(default_factory=list)  # "zip: images/logo.png (not a runbook document)"


def is_document_name(name: str) -> bool:
    return name.lower().endswith(DOCUMENT_SUFFIXES)


def looks_like_zip(name: str, data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06") or name.lower().endswith(".zip")


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _safe_member_name(zip_name: str, raw: str) -> str:
    """The member's path inside the zip, or UploadRefused when it would point outside the folder."""
    if "\x00" in raw or any(ord(ch) < 32 for ch in raw):
        raise UploadRefused(f"{zip_name}: a member's name holds control characters; nothing was imported.")
    if "\\" in raw or raw.startswith("/") or _DRIVE.match(raw) or ".." in PurePosixPath(raw).parts:
        shown = raw if len(raw) <= 120 else raw[:117] + "…"
        raise UploadRefused(f"{zip_name}: the member “{shown}” points outside the folder (an absolute path or "
                            "“..”); such a zip is refused whole and nothing was imported.")
    return raw


def unpack_zip(zip_name: str, data: bytes, *, max_member_bytes: int) -> Unpacked:
    """The documents of a zip, or UploadRefused (nothing of it is used then)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError) as exc:
        raise UploadRefused(f"{zip_name}: not a zip file that can be read ({exc}).") from None
    if len(infos) > ZIP_MAX_MEMBERS:
        raise UploadRefused(f"{zip_name} holds {len(infos):,} entries; a zip may hold at most "
                            f"{ZIP_MAX_MEMBERS:,}. Zip the runbooks folder alone.")
    out = Unpacked()
    chosen: list[zipfile.ZipInfo] = []
    declared = 0
    for info in sorted(infos, key=lambda i: i.filename):
        name = _safe_member_name(zip_name, info.filename)
        if info.is_dir() or _NOISE.search(name.rstrip("/")):
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            out.left_out.append(f"{zip_name}: {name} (a link, not a document)")
            continue
        if not is_document_name(name):
            out.left_out.append(f"{zip_name}: {name} (not a runbook document: {', '.join(DOCUMENT_SUFFIXES[:3])})")
            continue
        if info.flag_bits & 0x1:
            raise UploadRefused(f"{zip_name}: {name} is encrypted; upload a zip without a password.")
        if info.file_size > max_member_bytes:
            raise UploadRefused(f"{zip_name}: {name} is {_mb(info.file_size)} uncompressed; a document may be at "
                                f"most {_mb(max_member_bytes)}. Nothing was imported.")
        if info.file_size > _RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(1, info.compress_size):
            raise UploadRefused(f"{zip_name}: {name} unpacks to {info.file_size // max(1, info.compress_size):,} "
                                "times its compressed size, which only a zip bomb does. Nothing was imported.")
        declared += info.file_size
        chosen.append(info)
    if len(chosen) > ZIP_MAX_DOCUMENTS:
        raise UploadRefused(f"{zip_name} holds {len(chosen):,} documents; one upload may hold at most "
                            f"{ZIP_MAX_DOCUMENTS:,}. Import the folder in parts, or with `make import`.")
    if declared > ZIP_MAX_TOTAL_BYTES:
        raise UploadRefused(f"{zip_name}'s documents unpack to {_mb(declared)}; at most {_mb(ZIP_MAX_TOTAL_BYTES)} "
                            "may be imported at once. Nothing was imported.")
    total = 0
    for info in chosen:
        try:
            with archive.open(info) as member:
                body = member.read(max_member_bytes + 1)  # never more than the limit, whatever the header says
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, ValueError, OSError, EOFError) as exc:
            raise UploadRefused(f"{zip_name}: {info.filename} cannot be read ({exc}). Nothing was imported.") \
                from None
        if len(body) > max_member_bytes:
            raise UploadRefused(f"{zip_name}: {info.filename} is bigger than its header says (over "
                                f"{_mb(max_member_bytes)}); such a zip is refused. Nothing was imported.")
        total += len(body)
        if total > ZIP_MAX_TOTAL_BYTES:
            raise UploadRefused(f"{zip_name}'s documents unpack to more than {_mb(ZIP_MAX_TOTAL_BYTES)}; "
                                "such a zip is refused. Nothing was imported.")
        out.documents.append((info.filename, body))
    if not out.documents:
        raise UploadRefused(f"{zip_name} holds no runbook documents ({', '.join(DOCUMENT_SUFFIXES)}).")
    return out
