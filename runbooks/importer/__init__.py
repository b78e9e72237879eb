"""Parse a runbook document (Markdown or plain text, any encoding) into plain dataclasses.

    bytes -> text (text.py) -> section tree (sections.py) -> recognisers (recognisers/) -> ImportedDocument

No ORM here: `runbooks.store` is the one place that writes to the database. `parse_document` never
raises for bad input; a document it cannot read comes back with no runbooks and a warning saying why.
"""

from __future__ import annotations

import gc
import logging
import re

from runbooks.importer.inline import plain, strip_symbols
from runbooks.importer.recognisers import BLOCK_RECOGNISERS, RUNBOOK_RECOGNISERS, Found
from runbooks.importer.recognisers.front_matter import front_matter_title
from runbooks.importer.sections import Tree, build_tree
from runbooks.importer.steps import MAX_STEP_TEXT
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


def parse_document(data: bytes, source: str) -> ImportedDocument:
    """Parse one document's bytes; `source` is the file name as given, kept in the result."""
    doc = ImportedDocument(source=source)
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
        _parse(decoded.text, doc)
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


def _parse(text: str, doc: ImportedDocument) -> None:
    tree = build_tree(text)
    found = Found()
    block_recognisers = [cls() for cls in BLOCK_RECOGNISERS]
    for section in tree.root.walk():
        for block in section.blocks:
            if not block.claimed and any(r.claim(block, section, found) for r in block_recognisers):
                block.claimed = True
    for cls in RUNBOOK_RECOGNISERS:
        cls().recognise(tree, found)
    _reconcile_severities(found)

    doc.title = _title(tree)
    doc.runbooks = [runbook for _, runbook in sorted(found.runbooks, key=lambda pair: pair[0])]
    for runbook in doc.runbooks:
        runbook.title = runbook.title or doc.title or doc.source  # a document without headings is one runbook
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


def _title(tree: Tree) -> str:
    fm = tree.front_matter
    heading = next((s for s in tree.root.walk() if s.level > 0 and plain(s.title)), None)
    title = fm.get("title") if isinstance(fm.get("title"), str) else None
    if not title:
        title = (
            heading.title if heading else (front_matter_title(fm) if fm else None) or _first_line(tree.text)
        )
    words = strip_symbols(plain(title or ""))
    return words if len(words) <= MAX_TITLE else words[:MAX_TITLE].rstrip() + "…"


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


def to_contract(docs: list[ImportedDocument]) -> dict:
    """The JSON contract of `import_runbooks --dry-run --json` (shared/import-format.md)."""
    return {"documents": [_document(doc) for doc in docs]}


def _document(doc: ImportedDocument) -> dict:
    return {
        "source": doc.source,
        "title": doc.title,
        "runbooks": [_runbook(r) for r in doc.runbooks],
        "severity_levels": [
            {
                "name": s.name,
                "rank": s.rank,
                "description": s.description,
                "response_minutes": s.response_minutes,
                "examples": list(s.examples),
            }
            for s in doc.severity_levels
        ],
        "contacts": [
            {
                "name": c.name,
                "role": c.role,
                "email": c.email,
                "phone": c.phone,
                "handle": c.handle,
                "channel": c.channel,
                "via": c.via,
            }
            for c in doc.contacts
        ],
        "escalation": [
            {
                "severity": e.severity,
                "notify": list(e.notify),
                "within_minutes": e.within_minutes,
                "action": e.action,
            }
            for e in doc.escalation
        ],
        "warnings": list(doc.warnings),
    }


def _runbook(runbook: ImportedRunbook) -> dict:
    return {
        "title": runbook.title,
        "key": runbook.key,
        "service": runbook.service,
        "alerts": list(runbook.alerts),
        "error_patterns": list(runbook.error_patterns),
        "severity": runbook.severity,
        "steps": [
            {
                "phase": s.phase,
                "heading": s.heading,
                "text": s.text,
                "checkbox": s.checkbox,
                "commands": [{"language": c.language, "text": c.text} for c in s.commands],
            }
            for s in runbook.steps
        ],
    }
