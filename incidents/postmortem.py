"""Draft a postmortem from what the incident recorded: plain functions over its timeline, checklist and runs.

`draft(incident)` reads the record in a fixed number of queries (timeline, checklist, command runs, the people
named in role changes) and returns plain JSON (kept on the Postmortem as `facts`): the milestones and durations
with met/missed, severity and its changes, a key timeline, checklist completion, people and their roles, runbook
gaps, and drafted text for the summary and impact sections. Pages and acknowledgements are read from the timeline
by kind, so whatever the escalation engine records under those kinds is included.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q, TextField
from django.db.models.functions import Right
from django.utils import timezone

from .choices import ROLES, EventKind, EventSource, Status
from .models import ChecklistItem, CommandRun, Incident
from .templatetags.incident_tags import duration as say

# Timeline kinds the key timeline keeps. Paging kinds are matched by value, so kinds the escalation engine adds
# ("page", "escalation", ...) are picked up without this module knowing them.
KEY_KINDS = {EventKind.DECLARED, EventKind.STATUS, EventKind.SEVERITY, EventKind.ACKNOWLEDGED,
             EventKind.NOTIFICATION, EventKind.ALERT, EventKind.MILESTONE}
PAGING_KINDS = {"notification", "page", "paging", "escalation", "acknowledged"}
FAILED_RUNS = (CommandRun.State.FAILED, CommandRun.State.TIMED_OUT, CommandRun.State.LOST)
OUTPUT_READ = 4000  # characters read from the end of each run's output
EXCERPT_LINES = 8
EXCERPT_CHARS = 800


@dataclass
class Record:
    """What the incident recorded, as read for the draft."""

    events: list[tuple] = field(default_factory=list)  # every event: (id, kind, data, actor_id), in order
    key_events: list[tuple] = field(default_factory=list)  # (id, kind, source, message, data, at, who, actor_id)
    items: list[dict] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # user id -> shown name


def _who(username, first, last) -> str:
    if username is None:
        return ""
    return f"{first or ''} {last or ''}".strip() or username


def key_event_filter() -> Q:
    return Q(kind__in=KEY_KINDS | PAGING_KINDS) | Q(kind=EventKind.NOTE, data__important=True)


def gather(incident: Incident) -> Record:
    """Four queries for the record (every event in short, the key ones in full, checklist, runs), one for the
    names of people given roles. Only key events carry their time: parsing 5,000 timestamps costs more than
    the rest of the draft."""
    record = Record()
    for pk, kind, data, actor_id, username, first, last in incident.timeline.order_by("at", "pk").values_list(
            "id", "kind", "data", "actor_id", "actor__username", "actor__first_name", "actor__last_name"):
        if actor_id and actor_id not in record.names:
            record.names[actor_id] = _who(username, first, last)
        record.events.append((pk, kind, data if isinstance(data, dict) else {}, actor_id))
    for pk, kind, source, message, data, at, actor_id in incident.timeline.filter(key_event_filter()).order_by(
            "at", "pk").values_list("id", "kind", "source", "message", "data", "at", "actor_id"):
        record.key_events.append((pk, kind, source, message, data if isinstance(data, dict) else {}, at,
                                  record.names.get(actor_id, ""), actor_id))
    for row in ChecklistItem.objects.filter(incident=incident).order_by(
            "incident_runbook__attached_at", "incident_runbook_id", "order").values(
            "id", "state", "skip_reason", "heading", "text", "commands", "phase", "changed_at",
            "incident_runbook__runbook__title", "incident_runbook__runbook__slug",
            "incident_runbook__version__number", "changed_by__username", "changed_by__first_name",
            "changed_by__last_name"):
        row["label"] = row["text"] or row["heading"] or (
            row["commands"][0].get("text", "") if row["commands"] else f"Step {len(record.items) + 1}")
        row["by"] = _who(row.pop("changed_by__username"), row.pop("changed_by__first_name"),
                         row.pop("changed_by__last_name"))
        record.items.append(row)
    for row in CommandRun.objects.filter(incident=incident).order_by("created_at", "pk").annotate(
            tail=Right("output", OUTPUT_READ, output_field=TextField())).values(
            "id", "state", "exit_code", "template", "script", "reason", "created_at", "finished_at",
            "checklist_item_id", "target__name", "tail", "output_truncated", "requested_by_id",
            "requested_by__username", "requested_by__first_name", "requested_by__last_name"):
        row["by"] = _who(row.pop("requested_by__username"), row.pop("requested_by__first_name"),
                         row.pop("requested_by__last_name"))
        if row["requested_by_id"]:
            record.names[row["requested_by_id"]] = row["by"]
        record.runs.append(row)
    wanted = {e[2].get("user") for e in record.events if e[1] == EventKind.ROLE}
    wanted |= {getattr(incident, f"{role}_id") for role in ROLES}
    wanted = {pk for pk in wanted if isinstance(pk, int) and pk not in record.names}
    if wanted:
        for user in get_user_model().objects.filter(pk__in=wanted).only("username", "first_name", "last_name"):
            record.names[user.pk] = _who(user.username, user.first_name, user.last_name)
    return record


# --- pieces ---------------------------------------------------------------------------------------

def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _secs(delta) -> int | None:
    return int(delta.total_seconds()) if delta is not None else None


def _clock(at: datetime | None) -> str:
    if at is None:
        return "—"
    local = timezone.localtime(at)
    return f"{local:%H:%M} {local.tzname()} on {local.day} {local:%b %Y}"


def excerpt(output: str) -> str:
    """The last lines of a run's output, short enough to read in a document."""
    lines = (output or "").rstrip("\n").split("\n")[-EXCERPT_LINES:]
    text = "\n".join(lines)
    return text if len(text) <= EXCERPT_CHARS else "…" + text[-EXCERPT_CHARS:]


def milestone_facts(incident: Incident) -> list[dict]:
    return [{"key": r["key"], "label": r["label"], "definition": r["definition"], "at": _iso(r["at"]),
             "since_impact": _secs(r["since_impact"]), "defaulted": r["defaulted"], "edit": r["edit"]}
            for r in incident.milestone_rows()]


def duration_facts(incident: Incident) -> list[dict]:
    return [{"key": r["key"], "label": r["label"], "short": r["short"], "seconds": _secs(r["took"]),
             "allowed": _secs(r["allowed"]), "met": r["met"], "edited": r["edited"]}
            for r in incident.duration_rows()]


def severity_facts(incident: Incident, record: Record) -> dict:
    changes = [{"at": _iso(at), "from": data.get("from"), "to": data.get("to"), "who": who}
               for _, kind, _, _, data, at, who, _ in record.key_events if kind == EventKind.SEVERITY]
    declared = next((data.get("severity") for _, kind, _, _, data, *_ in record.key_events
                     if kind == EventKind.DECLARED), None)
    return {"current": incident.severity.name, "declared_as": declared or (changes[0]["from"] if changes else
                                                                           incident.severity.name),
            "response_minutes": incident.severity.response_minutes,
            "response_text": incident.severity.response_text, "changes": changes}


def _run_line(run: dict) -> str:
    state = CommandRun.State(run["state"]).label.lower() if run["state"] in CommandRun.State.values else run["state"]
    code = f" (exit {run['exit_code']})" if run["exit_code"] is not None else ""
    where = f" on {run['target__name']}" if run["target__name"] else ""
    return f"Run #{run['id']} {state}{code}{where}"


def key_timeline(record: Record) -> list[dict]:
    """Status and severity changes, pages and acknowledgements, commands with their outcome, important notes."""
    kinds = dict(EventKind.choices)
    sources = dict(EventSource.choices)
    entries = []
    for pk, kind, source, message, data, at, who, _ in record.key_events:
        if kind in KEY_KINDS or kind in PAGING_KINDS or (kind == EventKind.NOTE and data.get("important")):
            entries.append({"key": f"event:{pk}", "at": _iso(at), "kind": kind, "kind_label": kinds.get(kind, kind),
                            "who": who or (sources.get(source, source) if source != EventSource.WEB else ""),
                            "text": message})
    for run in record.runs:
        if run["state"] in (CommandRun.State.REJECTED, CommandRun.State.AWAITING_APPROVAL):
            continue
        entries.append({"key": f"run:{run['id']}", "at": _iso(run["finished_at"] or run["created_at"]),
                        "kind": "command", "kind_label": "Command", "who": run["by"], "text": _run_line(run),
                        "script": run["script"], "state": run["state"], "exit_code": run["exit_code"],
                        "excerpt": excerpt(run["tail"])})
    entries.sort(key=lambda e: e["at"] or "")
    return entries


def checklist_facts(record: Record) -> dict:
    groups: dict[str, dict] = {}
    totals = Counter()
    for item in record.items:
        title = item["incident_runbook__runbook__title"]
        group = groups.setdefault(title, {"title": title, "slug": item["incident_runbook__runbook__slug"],
                                          "version": item["incident_runbook__version__number"],
                                          "done": 0, "skipped": 0, "open": 0, "total": 0, "skips": []})
        group[item["state"]] += 1
        group["total"] += 1
        totals[item["state"]] += 1
        if item["state"] == ChecklistItem.State.SKIPPED:
            group["skips"].append({"label": item["label"], "reason": item["skip_reason"], "by": item["by"]})
    return {"done": totals["done"], "skipped": totals["skipped"], "open": totals["open"],
            "total": sum(totals.values()), "runbooks": list(groups.values())}


def people_facts(incident: Incident, record: Record) -> list[dict]:
    """Everyone who held a role or did something, with the roles they held and what they did."""
    roles: dict[int, list[str]] = defaultdict(list)
    for role in ROLES:
        holder = getattr(incident, f"{role}_id")
        if holder and ROLES[role] not in roles[holder]:
            roles[holder].append(ROLES[role])
    for _, kind, data, _ in record.events:
        if kind == EventKind.ROLE and isinstance(data.get("user"), int) and data.get("role") in ROLES:
            label = ROLES[data["role"]]
            if label not in roles[data["user"]]:
                roles[data["user"]].append(label)
    did: dict[int, Counter] = defaultdict(Counter)
    first: dict[int, int] = {}  # user -> position of their first event
    for position, (_, kind, _, actor) in enumerate(record.events):
        if actor:
            did[actor][kind] += 1
            first.setdefault(actor, position)
    nouns = {EventKind.CHECKLIST: ("checklist change", "checklist changes"), EventKind.NOTE: ("note", "notes"),
             EventKind.COMMAND: ("command action", "command actions"), EventKind.STATUS: ("status change",
                                                                                           "status changes"),
             EventKind.SEVERITY: ("severity change", "severity changes"), EventKind.ROLE: ("role change",
                                                                                       "role changes"),
             EventKind.RUNBOOK: ("runbook attached", "runbooks attached"),
             EventKind.MILESTONE: ("milestone corrected", "milestones corrected")}
    people = []
    for user in sorted(set(roles) | set(did), key=lambda u: (first.get(u, len(record.events)), u)):
        counts = did.get(user, Counter())
        acts = []
        if counts.pop(EventKind.DECLARED, 0):
            acts.append("declared it")
        if counts.pop(EventKind.ACKNOWLEDGED, 0):
            acts.append("acknowledged it")
        for kind, (one, many) in nouns.items():
            n = counts.pop(kind, 0)
            if n:
                acts.append(f"{n} {one if n == 1 else many}")
        rest = sum(counts.values())
        if rest:
            acts.append(f"{rest} other {'action' if rest == 1 else 'actions'}")
        people.append({"name": record.names.get(user, f"user #{user}"), "roles": roles.get(user, []),
                       "did": ", ".join(acts)})
    return people


def runbook_gaps(record: Record) -> dict:
    """Where the runbooks did not fit: steps skipped or reopened, commands that failed, commands none held."""
    by_id = {item["id"]: item for item in record.items}
    reopened = Counter(data.get("item") for _, kind, data, _ in record.events
                       if kind == EventKind.CHECKLIST and data.get("state") == ChecklistItem.State.OPEN)
    held = {c.get("text") for item in record.items for c in item["commands"] or [] if isinstance(c, dict)}

    def step(item: dict) -> dict:
        return {"label": item["label"], "runbook": item["incident_runbook__runbook__title"]}

    failed, unlisted = [], []
    for run in record.runs:
        summary = {"run": run["id"], "script": run["script"], "line": _run_line(run), "reason": run["reason"],
                   "excerpt": excerpt(run["tail"]),
                   "runbook": by_id[run["checklist_item_id"]]["incident_runbook__runbook__title"]
                   if run["checklist_item_id"] in by_id else None}
        if run["state"] in FAILED_RUNS:
            failed.append(summary)
        if run["template"] not in held:
            unlisted.append(summary)
    return {
        "skipped": [{**step(i), "reason": i["skip_reason"], "by": i["by"]} for i in record.items
                    if i["state"] == ChecklistItem.State.SKIPPED],
        "reopened": [{**step(by_id[pk]), "times": n} for pk, n in reopened.items() if pk in by_id],
        "failed_commands": failed,
        "unlisted_commands": unlisted,
    }


# --- drafted text -----------------------------------------------------------------------------------

def _verdict(d: dict) -> str:
    if d["seconds"] is None:
        return "not reached"
    text = say_seconds(d["seconds"])
    if d["met"] is True:
        return f"{text} (within the {say_seconds(d['allowed'])} response time)"
    if d["met"] is False:
        return f"{text} (missed the {say_seconds(d['allowed'])} response time)"
    return text


def say_seconds(seconds: int | None) -> str:
    from datetime import timedelta

    return say(timedelta(seconds=seconds)) if seconds is not None else "—"


def summary_text(incident: Incident, facts: dict) -> str:
    durations = {d["key"]: d for d in facts["durations"]}
    sev = facts["severity"]
    where = f" on {incident.service.name}" if incident.service_id else ""
    lines = [f"{sev['current']} incident “{incident.title}”{where}."]
    lines.append(f"Impact started at {_clock(incident.impact_start)}; the incident was declared at "
                 f"{_clock(incident.declared_at)}.")
    if sev["changes"]:
        lines.append(f"Declared as {sev['declared_as']}, it ended as {sev['current']} after "
                     f"{len(sev['changes'])} severity change{'s' if len(sev['changes']) != 1 else ''}.")
    lines.append(f"From impact start: acknowledged after {_verdict(durations['tta'])}, mitigated after "
                 f"{_verdict(durations['ttm'])}, resolved after {_verdict(durations['ttr'])}.")
    checklist = facts["checklist"]
    if checklist["runbooks"]:
        used = ", ".join(f"“{g['title']}” (v{g['version']}): {g['done']} of {g['total']} steps done"
                         + (f", {g['skipped']} skipped" if g["skipped"] else "") for g in checklist["runbooks"])
        lines.append(f"Runbooks used: {used}.")
    runs = [e for e in facts["timeline"] if e["kind"] == "command"]
    if runs:
        failed = len(facts["gaps"]["failed_commands"])
        lines.append(f"{len(runs)} command run{'s' if len(runs) != 1 else ''}"
                     + (f", {failed} failed." if failed else ", none failed."))
    return "\n\n".join([" ".join(lines[:2]), *lines[2:]])


def impact_text(incident: Incident, facts: dict) -> str:
    stop = incident.milestone_at("mitigated")
    lasted = (stop - incident.impact_start) if stop else None
    parts = [f"Impact lasted {say(lasted)}, from {_clock(incident.impact_start)} until it was mitigated at "
             f"{_clock(stop)}." if lasted is not None else
             f"Impact started at {_clock(incident.impact_start)} and was not yet mitigated when this was drafted."]
    if incident.summary.strip():
        quoted = "\n".join(f"> {line}" for line in incident.summary.strip().splitlines()[:20])
        parts.append(f"Symptoms as declared:\n\n{quoted}")
    parts.append("Say who was affected (customers, internal teams, regions) and how (errors, latency, data).")
    return "\n\n".join(parts)


def draft(incident: Incident) -> dict:
    """The recorded part of the postmortem, as JSON, with drafted text for the summary and impact."""
    record = gather(incident)
    facts = {
        "generated_at": timezone.now().isoformat(),
        "incident": {"id": incident.pk, "title": incident.title, "status": incident.status,
                     "status_label": Status(incident.status).label,
                     "service": incident.service.name if incident.service_id else None},
        "milestones": milestone_facts(incident),
        "durations": duration_facts(incident),
        "severity": severity_facts(incident, record),
        "timeline": key_timeline(record),
        "checklist": checklist_facts(record),
        "people": people_facts(incident, record),
        "gaps": runbook_gaps(record),
        "counts": {"events": len(record.events), "runs": len(record.runs)},
    }
    facts["text"] = {"summary": summary_text(incident, facts), "impact": impact_text(incident, facts)}
    return facts
