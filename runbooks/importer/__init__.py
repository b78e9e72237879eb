"""Parse a runbook document (Markdown or plain text, any encoding) into plain dataclasses.

    bytes -> text (text.py) -> prepared text (prepare.py) -> markdown-it tokens -> section tree with its
    blocks (sections.py, read by what they are in blocks.py) -> document-level recognisers (severity
    matrix, escalation, contacts, SOP entries: recognisers/) -> the document's shape with its reasons
    (shape.py) -> one runbook per unit of that shape (build.py, steps.py) -> contacts and escalation
    written in prose (recognisers/prose_contacts.py, prose_escalation.py) -> ImportedDocument

No ORM here: `runbooks.store` is the one place that writes to the database. `parse_document` never
raises for bad input; a document it cannot read comes back with no runbooks and a warning saying why.
"""

from __future__ import annotations

import gc
import logging
import re

from runbooks.importer.build import build_runbook
from runbooks.importer.contract import to_contract
from runbooks.importer.fields import MAX_STEP_TEXT
from runbooks.importer.inline import plain, strip_symbols
from runbooks.importer.recognisers import BLOCK_RECOGNISERS, PROSE_RECOGNISERS, Found
from runbooks.importer.recognisers.front_matter import apply_front_matter, front_matter_title
from runbooks.importer.recognisers.sop import SopEntries
from runbooks.importer.sections import Tree, build_tree
from runbooks.importer.shape import SPLITS, decide
from runbooks.importer.text import UnreadableDocument, decode
from runbooks.importer.types import (
    ImportedCommand,
    ImportedContact,
    ImportedDocument,
    ImportedEscalation,
    ImportedRunbook,
    ImportedSeverity,
    ImportedStep,
)

__all__ = [
    "ImportedCommand",
    "ImportedContact",
    "ImportedDocument",
    "ImportedEscalation",
    "ImportedRunbook",
    "ImportedSeverity",
    "ImportedStep",
    "SPLITS",
    "parse_document",
    "to_contract",
]

logger = logging.getLogger(__name__)

MAX_TITLE = 200
LONG_LINE = 10_000
MAX_WARNINGS = 50
_UNSAFE_LINK = re.compile(
    r"\]\(\s*<?\s*(?:javascript|vbscript|data)\s*:|<\s*(?:javascript|vbscript)\s*:"
    r"|href\s*=\s*[\"']?\s*(?:javascript|vbscript)\s*:",
    re.IGNORECASE,
)
_SCRIPT = re.compile(r"<\s*script\b", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"<[A-Za-z][^<>\n]{0,500}?\s(on[a-z]{3,20})\s*=", re.IGNORECASE)


def parse_document(data: bytes, source: str, split: str = "auto") -> ImportedDocument:
    """Parse one document's bytes; `source` is the file name as given, kept in the result.

    `split` chooses the reading: 'auto' (the shape decided from the document), 'document' (one runbook),
    'h2' or 'h3' (each heading of that level is a runbook)."""
    doc = ImportedDocument(source=source, split=split if split in SPLITS else "auto")
    try:
        decoded = decode(data)
    except UnreadableDocument as exc:
        doc.warnings.append(f"nothing was imported: {exc}")
        return doc
    doc.warnings.extend(decoded.warnings)
    # A big document makes a few hundred thousand small objects and no garbage cycles worth chasing:
    # pausing the cyclic collector while they are made cuts the parse time by about a third.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _parse(decoded.text, doc, doc.split)
    except Exception as exc:
        # The one place that catches everything: a bug on a strange document must not take the whole import
        # down. This document is reported (and logged with its traceback); the others still import.
        logger.exception("the runbook importer failed on %s", source)
        doc.runbooks, doc.severity_levels, doc.contacts, doc.escalation = [], [], [], []
        doc.warnings.append(f"nothing was imported: the document could not be parsed ({type(exc).__name__})")
    finally:
        if collecting:
            gc.enable()
    return doc


def _parse(text: str, doc: ImportedDocument, split: str) -> None:
    tree = build_tree(text)
    found = Found()
    block_recognisers = [cls() for cls in BLOCK_RECOGNISERS]
    for section in tree.root.walk():
        for block in section.blocks:
            if not block.claimed and any(r.claim(block, section, found) for r in block_recognisers):
                block.claimed = True
    policy = bool(found.severity_levels or found.escalation or found.contacts)
    SopEntries().recognise(tree, found)
    sop_entries = [runbook for _, runbook in found.runbooks]
    doc.title = _title(tree, doc.source)
    shape = decide(tree, doc.title, split, policy=policy)
    for unit in shape.units:
        runbook = build_runbook(unit, tree, shape)
        if runbook.steps:
            runbook.title = runbook.title or doc.title or doc.source
            found.add_runbook(unit.line, runbook)
    doc.shape, doc.why = shape.kind, list(shape.why)
    found.warnings.extend(shape.warnings)
    if sop_entries:
        doc.shape = "catalogue"
        doc.why = [
            f"a catalogue of SOP entries: {len(sop_entries)} entries open with an id in brackets "
            f"('[{sop_entries[0].key}]' ...), each one runbook",
            *[w for w in shape.why if w.startswith("not runbooks")],
        ]
    apply_front_matter(tree.front_matter, found)
    _reconcile_severities(found)  # escalation matrices name their levels; prose rules do not define any
    for cls in PROSE_RECOGNISERS:
        cls().recognise(tree, found)

    doc.runbooks = [runbook for _, runbook in sorted(found.runbooks, key=lambda pair: pair[0])]
    for runbook in doc.runbooks:
        runbook.title = runbook.title or doc.title or doc.source  # a document without headings is one runbook
    if not doc.shape:
        doc.shape = "policy" if policy else "procedure"
    doc.severity_levels = found.severity_levels
    doc.contacts = found.contacts
    doc.escalation = found.escalation
    doc.warnings.extend(tree.warnings)
    doc.warnings.extend(_safety_warnings(text, tree.warnings))
    doc.warnings.extend(_long_line_warnings(tree))
    doc.warnings.extend(found.warnings)
    if not (doc.runbooks or doc.severity_levels or doc.contacts or doc.escalation):
        doc.warnings.append("no runbooks found: no section has steps, commands or a checklist to import")
    if len(doc.warnings) > MAX_WARNINGS:
        more = len(doc.warnings) - MAX_WARNINGS + 1
        doc.warnings[MAX_WARNINGS - 1 :] = [f"... and {more} more warnings like these"]


def _title(tree: Tree, source: str) -> str:
    """The level-1 heading; else the front matter's title; else the file's name when the document has
    headings (its first heading names a section, not the document); else its first line."""
    fm = tree.front_matter
    h1 = next((s for s in tree.root.walk() if s.level == 1 and plain(s.title) and "<%" not in s.title), None)
    title = h1.title if h1 else None
    if not title:
        title = fm.get("title") if isinstance(fm.get("title"), str) else None
    if not title and fm:
        title = front_matter_title(fm)
    if not title and any(s.level > 0 for s in tree.root.walk()):
        title = _name_of(source)
    if not title:
        title = _first_line(tree.text)
    words = strip_symbols(plain(title or ""))
    return words if len(words) <= MAX_TITLE else words[:MAX_TITLE].rstrip() + "…"


_ORDER_PREFIX = re.compile(r"^\d{1,4}[-_. ]+")
_EXTENSIONS = re.compile(r"(?:\.(?:md|markdown|mdx|txt|text|html|erb|rst|adoc))+$", re.IGNORECASE)


def _name_of(source: str) -> str:
    """'docs/10-security-incident-response.md' -> 'Security incident response'."""
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    name = _ORDER_PREFIX.sub("", _EXTENSIONS.sub("", name))
    words = " ".join(name.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:]


def _first_line(text: str) -> str:
    for line in text.split("\n", 50)[:50]:
        if line.strip() and not line.strip().startswith("---"):
            return line.strip()[: MAX_TITLE * 2]
    return ""


def _long_line_warnings(tree: Tree) -> list[str]:
    starts = tree.line_starts
    ends = [*starts[1:], len(tree.text) + 1]
    longest, line = max(
        (end - start - 1, n + 1) for n, (start, end) in enumerate(zip(starts, ends, strict=True))
    )
    if longest <= LONG_LINE:
        return []
    return [
        f"line {line} is {longest:,} characters long; step texts longer than {MAX_STEP_TEXT:,} characters "
        "were shortened"
    ]


def _safety_warnings(text: str, already: list[str]) -> list[str]:
    warnings = []
    unsafe = _UNSAFE_LINK.search(text)
    if unsafe:
        line = text.count("\n", 0, unsafe.start()) + 1
        warnings.append(f"a javascript:/data: link on line {line} is not a link here; its text was kept")
    script = _SCRIPT.search(text)
    if script and not any("<script>" in w for w in already):
        line = text.count("\n", 0, script.start()) + 1
        warnings.append(f"raw <script> HTML on line {line} was removed; it is never imported")
    handler = _EVENT_HANDLER.search(text)
    if handler:
        line = text.count("\n", 0, handler.start()) + 1
        warnings.append(f"raw HTML with an event handler ({handler.group(1)}=) on line {line} was dropped")
    return warnings


def _reconcile_severities(found: Found) -> None:
    """An escalation matrix also says how fast each severity is answered; fill the levels from it."""
    rows_by_name: dict[str, list[ImportedEscalation]] = {}
    for row in found.escalation:
        if row.severity:
            rows_by_name.setdefault(row.severity.casefold(), []).append(row)
    if not rows_by_name:
        return
    if not found.severity_levels:
        for rank, rows in enumerate(rows_by_name.values()):
            times = [r.within_minutes for r in rows if r.within_minutes is not None]
            found.severity_levels.append(
                ImportedSeverity(
                    name=rows[0].severity,
                    rank=rank,
                    description=None,
                    response_minutes=min(times) if times else None,
                )
            )
        return
    for level in found.severity_levels:
        if level.response_minutes is not None:
            continue
        rows = rows_by_name.get(level.name.casefold(), [])
        times = [r.within_minutes for r in rows if r.within_minutes is not None]
        if times:
            level.response_minutes = min(times)
        elif rows and rows[0].action and "(response:" not in (level.description or ""):
            level.description = f"{level.description or ''} (response: {rows[0].action})".strip()
