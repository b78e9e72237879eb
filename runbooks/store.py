"""Store what the importer read from one document: runbooks, severity levels, contacts and escalation.

The importer (`runbooks.importer`) keeps no ORM; this module, beside the models it writes, is where a parsed
document becomes rows, idempotently.

Everything a document holds is stored in one transaction: a failure anywhere leaves nothing of that
document behind. Importing the same document twice changes nothing and records no new version. What
admins decided survives a re-import: a command's destructive override and approval rule, a step's phase,
a runbook's service (the importer remembers what it set, so it knows what someone changed since).
Steps and commands are written with bulk inserts, so a document of tens of thousands of steps stores in
seconds; documents over IMPORT_MAX_RUNBOOKS runbooks or IMPORT_MAX_STEPS steps are refused whole.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.db import models, transaction

from runbooks import bulk, languages
from runbooks.commandtext import find_parameters
from runbooks.destructive import is_destructive
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
from runbooks.severity_aliases import reconcile


@dataclass
class StoreResult:
    """What storing one document did, in words a person reads in a terminal or on the admin page."""

    source: str = ""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    severity_levels: int = 0
    severity_decisions: list[str] = field(default_factory=list)  # 'P1: an alias of SEV2 (same rank)'
    kept: list[str] = field(default_factory=list)  # admin decisions a re-import kept
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
        if self.kept:
            parts.append(f"{plural(len(self.kept), 'admin decision')} kept")
        if self.warnings:
            parts.append(plural(len(self.warnings), "warning"))
        return "; ".join(parts)


class ImportLimitError(ValueError):
    """A document too big to import; the message says which limit and how to raise it."""


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def normalise_title(title: str) -> str:
    return re.sub(r"\s+", " ", (title or "")).strip().casefold()


def source_name(source: str) -> str:
    """The base name of a path: `docs/x.md` and `./docs/x.md` are the same source document."""
    return PurePath(source or "").name or (source or "document")


def stored_split(source: str) -> str:
    """The reading an admin chose for this document ('auto' when none): a re-import reads it the same way."""
    split = SourceDocument.objects.filter(name=source_name(source)).values_list("split", flat=True).first()
    return split or SourceDocument.Split.AUTO


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


def check_limits(doc) -> None:
    """Refuse a document with more runbooks or steps than an import may hold (settings IMPORT_MAX_*)."""
    runbooks = list(getattr(doc, "runbooks", None) or [])
    steps = sum(len(getattr(r, "steps", None) or []) for r in runbooks)
    max_runbooks, max_steps = settings.IMPORT_MAX_RUNBOOKS, settings.IMPORT_MAX_STEPS
    name = source_name(getattr(doc, "source", ""))
    if len(runbooks) > max_runbooks:
        raise ImportLimitError(
            f"{name} holds {len(runbooks):,} runbooks; one document may hold at most {max_runbooks:,} "
            "(IMPORT_MAX_RUNBOOKS). Split it into smaller documents, or raise the limit."
        )
    if steps > max_steps:
        raise ImportLimitError(
            f"{name} holds {steps:,} steps; one document may hold at most {max_steps:,} (IMPORT_MAX_STEPS). "
            "Split it into smaller documents, or raise the limit."
        )


def count_steps(doc) -> int:
    return sum(len(getattr(r, "steps", None) or []) for r in getattr(doc, "runbooks", None) or [])


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
    check_limits(doc)
    result = StoreResult(source=source_name(getattr(doc, "source", "")))
    with transaction.atomic():
        source = _store_source(doc, result, source_bytes)
        _store_severity_levels(doc, result)
        _store_contacts(doc, result)
        _store_escalation(doc, result)
        _store_runbooks(doc, source, result, by)
        if len(result.warnings) > len(source.warnings or []):
            # what storing found too (a tier that pages nobody), kept with the document for /setup/ to show
            SourceDocument.objects.filter(pk=source.pk).update(warnings=list(result.warnings))
    return result


def _store_source(doc, result: StoreResult, source_bytes: bytes | None) -> SourceDocument:
    digest_input = source_bytes if source_bytes is not None else repr(doc).encode()
    result.warnings.extend(_texts(getattr(doc, "warnings", [])))
    split = getattr(doc, "split", None)
    defaults = {
        "title": _fit(SourceDocument, "title", getattr(doc, "title", "")),
        "sha256": hashlib.sha256(digest_input).hexdigest(),
        "warnings": list(result.warnings),
    }
    if split in SourceDocument.Split.values:
        defaults["split"] = split
    source, _ = SourceDocument.objects.update_or_create(
        name=_fit(SourceDocument, "name", result.source), defaults=defaults
    )
    return source


# --- severity matrix --------------------------------------------------------------------------------


def _store_severity_levels(doc, result: StoreResult) -> None:
    """One matrix per organisation: another document's scale becomes aliases (runbooks.severity_aliases)."""
    levels = [level for level in getattr(doc, "severity_levels", None) or [] if _fit(SeverityLevel, "name", level.name)]
    if not levels:
        return
    existing = list(SeverityLevel.objects.all())
    by_name = {id(level): level for level in levels}
    for decision, imported in zip(reconcile(levels, existing), _ranked(levels), strict=True):
        assert by_name.get(id(imported)) is imported
        values = _level_values(imported)
        extra = _texts(getattr(imported, "aliases", []))
        if decision.action == "create":
            rank = decision.rank
            taken = set(SeverityLevel.objects.values_list("rank", flat=True))
            while rank in taken:
                rank += 1
            if rank != decision.rank:
                result.warnings.append(
                    f"severity {imported.name}: rank {decision.rank} is taken; stored at rank {rank} instead"
                )
            SeverityLevel.objects.create(name=_fit(SeverityLevel, "name", imported.name), rank=rank,
                                         aliases=extra, **values)
            result.severity_decisions.append(str(decision))
        else:
            level = decision.level
            aliases = list(level.aliases)
            new = [a for a in [imported.name, *extra] if a.casefold() != level.name.casefold()
                   and a.casefold() not in {x.casefold() for x in aliases}]
            aliases += new
            changed = aliases != list(level.aliases)
            level.aliases = aliases
            if decision.action == "same" and level.name.casefold() == imported.name.casefold():
                for key, value in values.items():  # the level's own document describes it
                    changed |= getattr(level, key) != value
                    setattr(level, key, value)
            if changed:
                level.save()
            if decision.action == "alias":
                result.severity_decisions.append(str(decision))
        result.severity_levels += 1


def _ranked(levels: list) -> list:
    return sorted(levels, key=lambda item: item.rank if isinstance(item.rank, int) else 0)


def _level_values(imported) -> dict:
    minutes = getattr(imported, "response_minutes", None)
    values = {
        "description": getattr(imported, "description", "") or "",
        "response_minutes": minutes if isinstance(minutes, int) and minutes >= 0 else None,
        "examples": _texts(getattr(imported, "examples", [])),
    }
    response_text = getattr(imported, "response_text", "") or ""
    if response_text:
        values["response_text"] = _fit(SeverityLevel, "response_text", response_text)
    return values


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
    a contact known only by its role ("Security Team") by that role, one known only by how to reach it (an
    @handle or an address read from prose) by that."""
    name = (imported.name or "").strip()
    role = (imported.role or "").strip()
    channel = (getattr(imported, "channel", None) or "").strip()
    if name:
        return name, role
    if channel and not (getattr(imported, "email", None) or getattr(imported, "phone", None)
                        or getattr(imported, "handle", None)):
        return channel, role
    if role:
        return role, ""
    return (getattr(imported, "handle", None) or getattr(imported, "email", None) or channel or "").strip(), ""


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


def step_text(step) -> str:
    """A step's text as stored: its cautions follow it as '> ' paragraphs (the checklist shows them as
    cautions); a step that is itself a caution is one."""
    text = (getattr(step, "text", None) or "").strip()
    if getattr(step, "caution", False) and text:
        text = f"> {text}"
    for caution in getattr(step, "cautions", None) or []:
        if str(caution).strip():
            text = f"{text}\n\n> {str(caution).strip()}".strip()
    return text


def _wanted_steps(imported) -> list[dict]:
    steps = []
    for step in getattr(imported, "steps", None) or []:
        steps.append({
            "phase": _phase(getattr(step, "phase", None)),
            "heading": _fit(Step, "heading", getattr(step, "heading", None)),
            "text": step_text(step),
            "checkbox": bool(getattr(step, "checkbox", False)),
            "commands": [
                {"language": _fit(Command, "language", languages.normalise(getattr(c, "language", None))),
                 "text": (c.text or "").strip("\n")}
                for c in getattr(step, "commands", None) or []
                if (c.text or "").strip()
            ],
        })
    return steps


_PHASES = frozenset(Phase.values)  # Phase.values builds a new list each time it is read


def _phase(value: str | None) -> str:
    return value if value in _PHASES else Phase.OTHER


def _as_imported(step: Step, commands: list[Command]) -> dict:
    """A stored step as the importer would have written it: the imported phase, not an admin's."""
    return {
        "phase": step.imported_phase or step.phase, "heading": step.heading, "text": step.text,
        "checkbox": step.checkbox,
        "commands": [{"language": c.language, "text": c.text} for c in commands],
    }


class _Existing:
    """The source's runbooks, their steps and commands, read once for the whole document."""

    def __init__(self, source: SourceDocument, keys: list[str]):
        runbooks = list(Runbook.objects.filter(models.Q(source=source) | models.Q(key__in=keys))
                        .select_related("service"))
        self.by_key = {rb.key: rb for rb in runbooks if rb.key}
        self.by_title: dict[str, list[Runbook]] = {}
        for rb in runbooks:
            if rb.source_id == source.pk:
                self.by_title.setdefault(normalise_title(rb.title), []).append(rb)
        self.steps: dict[int, list[Step]] = {}
        # Commands by step in one query, not prefetch_related: it builds a queryset for each of thousands of steps.
        self.commands: dict[int, list[Command]] = {}
        steps = list(Step.objects.filter(runbook__in=runbooks).order_by("order", "pk")) if runbooks else []
        for step in steps:
            self.steps.setdefault(step.runbook_id, []).append(step)
            self.commands[step.pk] = []
        if steps:
            for command in Command.objects.filter(step__runbook__in=runbooks).order_by("step_id", "order", "pk"):
                self.commands[command.step_id].append(command)
        self.services = {s.name: s for s in Service.objects.all()} if runbooks else {}

    def find(self, source: SourceDocument, key: str | None, title: str, used: set[int]) -> Runbook | None:
        """Same key (keys are unique), else same source and normalised title."""
        if key:
            found = self.by_key.get(key)
            if found is not None and found.pk not in used:
                return found
        for runbook in self.by_title.get(normalise_title(title), []):
            if runbook.pk not in used:
                return runbook
        return None

    def service(self, name: str) -> Service | None:
        if not name:
            return None
        if name not in self.services:
            self.services[name] = Service.objects.get_or_create(name=name)[0]
        return self.services[name]


def _store_runbooks(doc, source: SourceDocument, result: StoreResult, by) -> None:
    imported_runbooks = list(getattr(doc, "runbooks", None) or [])
    keys = [k for k in (_fit(Runbook, "key", getattr(r, "key", None)) for r in imported_runbooks) if k]
    existing = _Existing(source, keys)
    used: set[int] = set()
    titles_used: set[str] = set()
    keys_used: set[str] = set()
    note = f"imported from {result.source}"
    for imported in imported_runbooks:
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
        runbook = existing.find(source, key, title, used)
        if runbook is not None and runbook.source_id not in (None, source.pk):
            result.warnings.append(
                f"{title}: the key {key} was imported from {runbook.source}; this document replaces it"
            )
        service_name = _fit(Service, "name", getattr(imported, "service", None))
        service = existing.service(service_name)
        if runbook is not None and _admin_chose_service(runbook):
            service = runbook.service  # an admin chose another service (or none) since the last import
            if service_name != (runbook.service.name if runbook.service_id else ""):
                result.kept.append(f"{title}: service {runbook.service.name if runbook.service_id else 'none'}")
        values = {
            "title": title,
            "key": key,
            "service": service,
            "imported_service": service_name,
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
        old = [(step, existing.commands[step.pk]) for step in existing.steps.get(runbook.pk, [])]
        if created or wanted != [_as_imported(*pair) for pair in old]:
            written = _replace_steps(runbook, wanted, old, result, title)
        else:
            written = old
        version = runbook.record_version(by=by, note=note, steps=written)
        if created:
            result.created.append(title)
        elif version is not None:
            result.updated.append(title)
        else:
            result.unchanged.append(title)


def _admin_chose_service(runbook: Runbook) -> bool:
    current = runbook.service.name if runbook.service_id else ""
    return runbook.version > 0 and current != runbook.imported_service


def _replace_steps(
    runbook: Runbook, wanted: list[dict], old: list[tuple[Step, list[Command]]], result: StoreResult, title: str
) -> list[tuple[Step, list[Command]]]:
    """Write the steps afresh with bulk inserts, carrying over what admins decided on the old ones; returns
    the steps with their commands, as written."""
    by_text: dict[tuple, list[Step]] = {}
    for step, _ in old:
        by_text.setdefault((step.heading, step.text), []).append(step)
        by_text.setdefault(("", step.text), []).append(step)
    old_commands: dict[str, Command] = {}
    judged: dict[tuple[str, str], bool] = {}  # the same command written again is judged once
    for _, step_commands in old:
        for command in step_commands:
            judged[(command.text, command.language)] = command.destructive
            if command.destructive_override is not None or command.needs_approval:
                old_commands.setdefault(command.text, command)
    steps: list[Step] = []
    decided: set[int] = set()
    for order, values in enumerate(wanted):
        match = _take(by_text, (values["heading"], values["text"])) or _take(by_text, ("", values["text"]))
        phase = values["phase"]
        if match is not None and match.imported_phase and match.phase != match.imported_phase:
            phase = match.phase  # an admin moved this step to another phase
            if id(match) not in decided:
                decided.add(id(match))
                result.kept.append(f"{title}: phase {phase} of '{(values['text'] or values['heading'])[:60]}'")
        steps.append(Step(runbook=runbook, order=order, phase=phase, imported_phase=values["phase"],
                          heading=values["heading"], text=values["text"], checkbox=values["checkbox"]))
    Step.objects.filter(runbook=runbook).delete()
    bulk.insert(steps)
    commands: list[Command] = []
    written: list[tuple[Step, list[Command]]] = []
    for step, values in zip(steps, wanted, strict=True):
        mine: list[Command] = []
        for n, command in enumerate(values["commands"]):
            before = old_commands.get(command["text"])
            key = (command["text"], command["language"])
            if key not in judged:
                judged[key] = is_destructive(command["text"], command["language"])
            mine.append(Command(
                step=step, order=n, language=command["language"], text=command["text"],
                parameters=find_parameters(command["text"]),
                destructive=judged[key],
                destructive_override=before.destructive_override if before else None,
                needs_approval=before.needs_approval if before else False,
            ))
            if before is not None:
                result.kept.append(f"{title}: the destructive/approval setting of '{command['text'][:60]}'")
        commands.extend(mine)
        written.append((step, mine))
    bulk.insert(commands)
    return written


def _take(index: dict[tuple, list[Step]], key: tuple) -> Step | None:
    candidates = index.get(key)
    while candidates:
        step = candidates.pop(0)
        if not getattr(step, "_taken", False):
            step._taken = True
            return step
    return None
