"""Store what the importer read from one document: runbooks, severity levels, contacts and escalation.

The importer (`runbooks.importer`) keeps no ORM; this module, beside the models it writes, is where a parsed
document becomes rows, idempotently.

Everything a document holds is stored in one transaction: a failure anywhere leaves nothing of that
document behind. Importing the same document twice changes nothing and records no new version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePath

from django.db import models, transaction

from runbooks import languages
from runbooks.models import (
    Command,
    Contact,
    EscalationPolicy,
    EscalationTier,
    Phase,
    Runbook,
    Service,
    SeverityLevel,
    SourceDocument,
    Step,
    find_by_names,
)


@dataclass
class StoreResult:
    """What storing one document did, in words a person reads in a terminal or on the admin page."""

    source: str = ""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    severity_levels: int = 0
    contacts: int = 0
    escalation_policies: int = 0
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"]
        extra = [
            plural(self.severity_levels, "severity level"),
            plural(self.contacts, "contact"),
            plural(self.escalation_policies, "escalation policy", "escalation policies"),
        ]
        parts.append(", ".join(extra))
        if self.warnings:
            parts.append(plural(len(self.warnings), "warning"))
        return "; ".join(parts)


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def normalise_title(title: str) -> str:
    return re.sub(r"\s+", " ", (title or "")).strip().casefold()


def source_name(source: str) -> str:
    """The base name of a path: `docs/x.md` and `./docs/x.md` are the same source document."""
    return PurePath(source or "").name or (source or "document")


def _fit(model: type[models.Model], name: str, value) -> str:
    """Cut text to the column's length: PostgreSQL refuses what SQLite would silently keep."""
    text = "" if value is None else str(value).strip()
    limit = model._meta.get_field(name).max_length
    return text[:limit] if limit else text


def _texts(values) -> list[str]:
    return [str(v).strip() for v in (values or []) if str(v or "").strip()]


class _Rollback(Exception):
    pass


def unreadable_reason(data: bytes) -> str | None:
    """Why these bytes are not a text document we can import, or None when they may be one."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    if not body.strip():
        return "the file is empty"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 with a byte-order mark: the parser decodes it
    if b"\x00" in data[:8192]:
        return "the file is binary, not a text document (Markdown or plain text)"
    return None


def preview_document(doc) -> StoreResult:
    """What storing the document would do, computed by storing it and rolling back."""
    outcome: StoreResult | None = None
    try:
        with transaction.atomic():
            outcome = store_document(doc)
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def store_document(doc, *, by=None, source_bytes: bytes | None = None) -> StoreResult:
    """Store an ImportedDocument in one transaction and say what changed."""
    result = StoreResult(source=source_name(getattr(doc, "source", "")))
    with transaction.atomic():
        source = _store_source(doc, result, source_bytes)
        _store_severity_levels(doc, result)
        _store_contacts(doc, result)
        _store_escalation(doc, result)
        _store_runbooks(doc, source, result, by)
    return result


def _store_source(doc, result: StoreResult, source_bytes: bytes | None) -> SourceDocument:
    digest_input = source_bytes if source_bytes is not None else repr(doc).encode()
    result.warnings.extend(_texts(getattr(doc, "warnings", [])))
    source, _ = SourceDocument.objects.update_or_create(
        name=_fit(SourceDocument, "name", result.source),
        defaults={
            "title": _fit(SourceDocument, "title", getattr(doc, "title", "")),
            "sha256": hashlib.sha256(digest_input).hexdigest(),
            "warnings": list(result.warnings),
        },
    )
    return source


# --- severity matrix --------------------------------------------------------------------------------


def _store_severity_levels(doc, result: StoreResult) -> None:
    levels = list(getattr(doc, "severity_levels", None) or [])
    if not levels:
        return
    existing = {level.name.casefold(): level for level in SeverityLevel.objects.all()}
    taken = {level.rank: level for level in existing.values()}
    for position, imported in enumerate(levels):
        name = _fit(SeverityLevel, "name", imported.name)
        if not name:
            continue
        rank = imported.rank if isinstance(getattr(imported, "rank", None), int) else position
        minutes = getattr(imported, "response_minutes", None)
        values = {
            "description": getattr(imported, "description", "") or "",
            "response_minutes": minutes if isinstance(minutes, int) and minutes >= 0 else None,
            "examples": _texts(getattr(imported, "examples", [])),
        }
        response_text = getattr(imported, "response_text", "") or ""
        if response_text:
            values["response_text"] = _fit(SeverityLevel, "response_text", response_text)
        level = existing.get(name.casefold())
        holder = taken.get(rank)
        if holder is not None and holder is not level:
            free = max(taken) + 1
            result.warnings.append(
                f"severity {name}: rank {rank} is already held by {holder.name}; stored at rank {free} instead"
            )
            rank = free
        if level is None:
            aliases = _texts(getattr(imported, "aliases", []))
            level = SeverityLevel.objects.create(name=name, rank=rank, aliases=aliases, **values)
            existing[name.casefold()] = level
        else:
            if level.rank != rank:
                taken.pop(level.rank, None)
            level.rank = rank
            aliases = list(level.aliases)
            aliases += [a for a in _texts(getattr(imported, "aliases", [])) if a not in aliases]
            level.aliases = aliases
            for key, value in values.items():
                setattr(level, key, value)
            level.save()
        taken[rank] = level
        result.severity_levels += 1


# --- contacts and escalation --------------------------------------------------------------------------

_CONTACT_FIELDS = ("email", "phone", "handle", "channel", "via")


def _contact_kind(imported, name: str) -> str:
    kind = getattr(imported, "kind", None)
    if kind in Contact.Kind.values:
        return kind
    if name.startswith("#") or (getattr(imported, "channel", None) and not imported.name and not (
            getattr(imported, "email", None) or getattr(imported, "phone", None)
            or getattr(imported, "handle", None))):
        return Contact.Kind.CHANNEL
    if re.search(r"\b(team|squad|group|sre|ops|leadership|management)\b", name, re.IGNORECASE):
        return Contact.Kind.TEAM
    return Contact.Kind.PERSON


def _contact_identity(imported) -> tuple[str, str]:
    """(name, role) a contact is stored under: a channel known by its purpose is named by the channel itself,
    a contact known only by its role ("Security Team") by that role."""
    name = (imported.name or "").strip()
    role = (imported.role or "").strip()
    channel = (getattr(imported, "channel", None) or "").strip()
    if name:
        return name, role
    if channel and not (getattr(imported, "email", None) or getattr(imported, "phone", None)
                        or getattr(imported, "handle", None)):
        return channel, role
    return role, ""


def _store_contacts(doc, result: StoreResult) -> None:
    """Contacts by (name, role): a field the document gives is updated, a field it leaves out keeps what an
    admin entered."""
    for imported in getattr(doc, "contacts", None) or []:
        name, role = _contact_identity(imported)
        name, role = _fit(Contact, "name", name), _fit(Contact, "role", role)
        if not name:
            continue
        given = {key: _fit(Contact, key, getattr(imported, key, "")) for key in _CONTACT_FIELDS}
        given = {key: value for key, value in given.items() if value}
        if given.get("email") and not _looks_like_email(given["email"]):
            result.warnings.append(f"contact {name}: “{given.pop('email')}” is not an email address; not stored")
        contact = Contact.objects.filter(name=name, role=role).first()
        if contact is None:
            Contact.objects.create(name=name, role=role, kind=_contact_kind(imported, name), **given)
        else:
            changed = [key for key, value in given.items() if getattr(contact, key) != value]
            for key in changed:
                setattr(contact, key, given[key])
            if changed:
                contact.save(update_fields=changed)
        result.contacts += 1


def _looks_like_email(text: str) -> bool:
    return bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text))


def _store_escalation(doc, result: StoreResult) -> None:
    """One policy per severity the matrix names, one tier per row, in the document's order.

    A row's notify names become the tier's targets where a contact or rotation has that name (or role); names
    nobody has yet stay on the tier and are matched again when an incident starts, so adding the person later is
    enough. "Within N minutes" is the tier's delay: how long it waits for an acknowledgement before the next
    tier. A policy an admin changed since its import is kept as the admin left it (with a warning).
    """
    rows = list(getattr(doc, "escalation", None) or [])
    if not rows:
        return
    by_severity: dict[str, list] = {}
    for row in rows:
        by_severity.setdefault((getattr(row, "severity", None) or "").strip(), []).append(row)
    source = SourceDocument.objects.filter(name=_fit(SourceDocument, "name", result.source)).first()
    for severity_name, tiers in by_severity.items():
        name = _fit(EscalationPolicy, "name", f"{severity_name or 'General'} escalation")
        severity = SeverityLevel.lookup(severity_name) if severity_name else None
        wanted = [
            {
                "delay_minutes": row.within_minutes if isinstance(row.within_minutes, int)
                and row.within_minutes >= 0 else None,
                "notify_names": [_fit(Contact, "name", n) for n in _texts(getattr(row, "notify", []))],
                "action": _fit(EscalationTier, "action", getattr(row, "action", "")),
            }
            for row in tiers
        ]
        policy = EscalationPolicy.objects.filter(name=name).first()
        result.escalation_policies += 1
        if policy is not None and policy.edited:
            if policy.imported_rows != wanted:
                result.warnings.append(f"{name}: changed in the admin since it was imported; kept as the admin "
                                       "left it (the document's new rows were not applied)")
            continue
        if policy is None:
            policy = EscalationPolicy.objects.create(name=name, severity=severity, source=source,
                                                     description=f"Imported from {result.source}")
        elif policy.imported_rows == wanted and policy.severity_id == (severity.pk if severity else None):
            continue
        policy.severity, policy.source, policy.imported_rows = severity, source, wanted
        policy.save(update_fields=["severity", "source", "imported_rows"])
        policy.tiers.all().delete()
        for order, values in enumerate(wanted):
            tier = EscalationTier.objects.create(policy=policy, order=order, **values)
            contacts, rotations, _ = find_by_names(values["notify_names"])
            tier.contacts.set(contacts)
            tier.rotations.set(rotations)
        result.warnings.extend(f"{name}: {problem}" for problem in policy.problems())


# --- runbooks ---------------------------------------------------------------------------------------


def _wanted_steps(imported) -> list[dict]:
    steps = []
    for step in getattr(imported, "steps", None) or []:
        steps.append({
            "phase": _phase(getattr(step, "phase", None)),
            "heading": _fit(Step, "heading", getattr(step, "heading", None)),
            "text": (getattr(step, "text", None) or "").strip(),
            "checkbox": bool(getattr(step, "checkbox", False)),
            "commands": [
                {"language": _fit(Command, "language", languages.normalise(getattr(c, "language", None))),
                 "text": (c.text or "").strip("\n")}
                for c in getattr(step, "commands", None) or []
                if (c.text or "").strip()
            ],
        })
    return steps


def _phase(value: str | None) -> str:
    return value if value in Phase.values else Phase.OTHER


def _existing_steps(runbook: Runbook) -> list[dict]:
    return [
        {
            "phase": s.phase, "heading": s.heading, "text": s.text, "checkbox": s.checkbox,
            "commands": [{"language": c.language, "text": c.text} for c in s.commands.all()],
        }
        for s in runbook.steps.prefetch_related("commands")
    ]


def _find_runbook(source: SourceDocument, key: str | None, title: str, used: set[int]) -> Runbook | None:
    """Same key (keys are unique), else same source and normalised title."""
    if key:
        found = Runbook.objects.filter(key=key).first()
        if found is not None and found.pk not in used:
            return found
    wanted = normalise_title(title)
    for runbook in Runbook.objects.filter(source=source):
        if runbook.pk not in used and normalise_title(runbook.title) == wanted:
            return runbook
    return None


def _store_runbooks(doc, source: SourceDocument, result: StoreResult, by) -> None:
    used: set[int] = set()
    titles_used: set[str] = set()
    keys_used: set[str] = set()
    note = f"imported from {result.source}"
    for imported in getattr(doc, "runbooks", None) or []:
        title = _fit(Runbook, "title", imported.title)
        if not title:
            result.warnings.append("a runbook without a title was skipped")
            continue
        key = _fit(Runbook, "key", getattr(imported, "key", None)) or None
        if key and key in keys_used:
            result.warnings.append(f"{title}: the key {key} is used twice in this document; stored without it")
            key = None
        if normalise_title(title) in titles_used:
            n = 2
            while normalise_title(f"{title} ({n})") in titles_used:
                n += 1
            result.warnings.append(f"{title}: a second runbook with this title was stored as '{title} ({n})'")
            title = _fit(Runbook, "title", f"{title} ({n})")
        titles_used.add(normalise_title(title))
        if key:
            keys_used.add(key)
        runbook = _find_runbook(source, key, title, used)
        if runbook is not None and runbook.source_id not in (None, source.pk):
            result.warnings.append(
                f"{title}: the key {key} was imported from {runbook.source}; this document replaces it"
            )

        service_name = _fit(Service, "name", getattr(imported, "service", None))
        service = Service.objects.get_or_create(name=service_name)[0] if service_name else None
        values = {
            "title": title,
            "key": key,
            "service": service,
            "alerts": _texts(getattr(imported, "alerts", [])),
            "error_patterns": _texts(getattr(imported, "error_patterns", [])),
            "severity_text": _fit(Runbook, "severity_text", getattr(imported, "severity", None)),
            "summary": getattr(imported, "summary", "") or "",
            "body_markdown": getattr(imported, "body_markdown", "") or "",
            "source": source,
        }
        created = runbook is None
        if created:
            runbook = Runbook.objects.create(**values)
        else:
            changed = [name for name, value in values.items() if getattr(runbook, name) != value]
            if changed:
                for name in changed:
                    setattr(runbook, name, values[name])
                runbook.save()
        used.add(runbook.pk)

        wanted = _wanted_steps(imported)
        if created or wanted != _existing_steps(runbook):
            runbook.steps.all().delete()
            for order, step_values in enumerate(wanted):
                commands = step_values.pop("commands")
                step = Step.objects.create(runbook=runbook, order=order, **step_values)
                for n, command in enumerate(commands):
                    Command.objects.create(step=step, order=n, **command)
        version = runbook.record_version(by=by, note=note)
        if created:
            result.created.append(title)
        elif version is not None:
            result.updated.append(title)
        else:
            result.unchanged.append(title)
