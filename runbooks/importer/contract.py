"""The JSON contract of `import_runbooks --dry-run --json` (shared/import-format.md), with the optional
fields this project adds to it (docs/import-format.md): a document's `shape`, `why` and `split`, a
runbook's `owner`, a step's `cautions` and `caution`."""

from __future__ import annotations

from runbooks.importer.types import ImportedDocument, ImportedRunbook


def to_contract(docs: list[ImportedDocument]) -> dict:
    return {"documents": [document(doc) for doc in docs]}


def document(doc: ImportedDocument) -> dict:
    return {
        "source": doc.source,
        "title": doc.title,
        "shape": doc.shape or None,
        "why": list(doc.why),
        "split": doc.split,
        "runbooks": [runbook(r) for r in doc.runbooks],
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


def runbook(rb: ImportedRunbook) -> dict:
    return {
        "title": rb.title,
        "key": rb.key,
        "service": rb.service,
        "owner": rb.owner,
        "alerts": list(rb.alerts),
        "error_patterns": list(rb.error_patterns),
        "severity": rb.severity,
        "steps": [
            {
                "phase": s.phase,
                "heading": s.heading,
                "text": s.text,
                "checkbox": s.checkbox,
                "commands": [{"language": c.language, "text": c.text} for c in s.commands],
                "cautions": list(s.cautions),
                "caution": s.caution,
            }
            for s in rb.steps
        ],
    }
