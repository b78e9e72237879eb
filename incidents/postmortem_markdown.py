"""A postmortem as one self-contained Markdown file: facts as generated, sections as written, action items."""

from __future__ import annotations

import re
from datetime import datetime

from django.utils import timezone

from .models import ActionItem, Incident, Postmortem, PostmortemSection
from .models.milestones import MEASURED_FROM, MILESTONES
from .models.postmortem import SECTIONS
from .postmortem import say_seconds


def when(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return timezone.localtime(at).strftime(fmt)


def cell(text) -> str:
    """Text for a table cell: one line, pipes escaped."""
    return " ".join(str(text if text is not None else "").split()).replace("|", "\\|") or " "


def fence(text: str, info: str = "") -> str:
    """A code block whose fence is longer than any run of backticks inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text or "")), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{info}\n{(text or '').rstrip()}\n{marks}"


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "someone"


def to_markdown(incident: Incident, postmortem: Postmortem, sections: list[PostmortemSection],
                items: list[ActionItem]) -> str:
    facts = postmortem.facts
    zone = timezone.localtime(timezone.now()).tzname()
    written = {s.key: s for s in sections}
    excluded = set(postmortem.excluded)
    sev = facts.get("severity", {})
    out: list[str] = [f"# Postmortem: #{incident.pk} {incident.title}", ""]
    if postmortem.is_published:
        state = f"Published by {_name(postmortem.published_by)} on {when(postmortem.published_at)} {zone}"
    else:
        state = f"{postmortem.get_state_display()} (not published), drafted {when(postmortem.generated_at)} {zone}"
    response = f"{sev.get('response_minutes')} min" if sev.get("response_minutes") is not None else (
        sev.get("response_text") or "none set")
    declared_as = f" (declared as {sev['declared_as']})" if sev.get("declared_as") not in (None, sev.get("current")) \
        else ""
    out += [f"- **State:** {state}",
            f"- **Severity:** {sev.get('current', incident.severity.name)}{declared_as}; response time {response}",
            f"- **Service:** {incident.service.name if incident.service_id else '—'}",
            f"- **Incident status:** {incident.get_status_display()}"]
    if postmortem.waived_at:
        out.append(f"- **Waived** by {_name(postmortem.waived_by)} on {when(postmortem.waived_at)} {zone}: "
                   f"{cell(postmortem.waiver_reason)}")
    out.append("")

    def section(key: str) -> None:
        spec = next(s for s in SECTIONS if s.key == key)
        row = written.get(key)
        out.extend([f"## {spec.title}", "", (row.text.strip() if row and row.text.strip() else "_Not written._"), ""])

    section("summary")
    section("impact")

    out += ["## Severity", ""]
    changes = sev.get("changes", [])
    if changes:
        out += [f"- {when(c['at'], '%H:%M:%S')}: {c['from']} → {c['to']}" + (f" ({c['who']})" if c.get("who") else "")
                for c in changes]
    else:
        out.append(f"{sev.get('current', incident.severity.name)} throughout.")
    out.append("")

    out += ["## Milestones", "", f"Times in {zone}. {MEASURED_FROM}", "",
            "| Milestone | Time | After impact started | Note |", "|---|---|---|---|"]
    for m in facts.get("milestones", []):
        edit = m.get("edit")
        note = (f"edited by {edit.get('by_name') or 'someone'}: {edit.get('reason')} (was {when(edit.get('was'))})"
                if edit else ("default" if m.get("defaulted") else ""))
        out.append(f"| {m['label']} | {when(m['at'])} | {say_seconds(m['since_impact'])} | {cell(note)} |")
    out += ["", "| Duration | Took | Response time | Result |", "|---|---|---|---|"]
    for d in facts.get("durations", []):
        result = {True: "met", False: "**missed**", None: "—"}[d["met"]]
        mark = " (edited milestone)" if d.get("edited") else ""
        out.append(f"| {d['label']} ({d['short']}){mark} | {say_seconds(d['seconds'])} | "
                   f"{say_seconds(d['allowed'])} | {result} |")
    out += ["", "Definitions:", ""]
    out += [f"- **{m.label}:** {m.definition}" for m in MILESTONES]
    out.append("")

    out += ["## Key timeline", ""]
    shown = [e for e in facts.get("timeline", []) if e["key"] not in excluded]
    for e in shown:
        who = f" — {e['who']}" if e.get("who") else ""
        out.append(f"- **{when(e['at'], '%Y-%m-%d %H:%M:%S')}** {e['kind_label']}{who}: {cell(e['text'])}")
        if e["kind"] == "command":
            out += ["", _indent(fence(e.get("script", ""), "sh"))]
            if e.get("excerpt"):
                out += ["", "  Output (last lines):", "", _indent(fence(e["excerpt"]))]
            out.append("")
    if not shown:
        out.append("_Nothing kept._")
    out.append("")

    checklist = facts.get("checklist", {})
    out += ["## Checklist", ""]
    for group in checklist.get("runbooks", []):
        out.append(f"- **{group['title']}** (v{group['version']}): {group['done']} of {group['total']} done, "
                   f"{group['skipped']} skipped, {group['open']} left open")
        out += [f"  - skipped “{cell(s['label'])}”: {cell(s['reason'])}" + (f" ({s['by']})" if s.get("by") else "")
                for s in group["skips"]]
    if not checklist.get("runbooks"):
        out.append("_No runbook was attached._")
    out.append("")

    out += ["## People", ""]
    out += [f"- **{p['name']}**" + (f" ({', '.join(p['roles'])})" if p["roles"] else "")
            + (f": {p['did']}" if p["did"] else "") for p in facts.get("people", [])] or ["_Nobody recorded._"]
    out.append("")

    gaps = facts.get("gaps", {})
    out += ["## Runbook gaps", ""]
    for title, key in (("Steps skipped", "skipped"), ("Steps reopened", "reopened"),
                       ("Commands that failed", "failed_commands"), ("Commands no runbook held", "unlisted_commands")):
        rows = gaps.get(key, [])
        out += [f"### {title}", ""]
        if not rows:
            out += ["None.", ""]
            continue
        for row in rows:
            if key == "skipped":
                out.append(f"- “{cell(row['label'])}” ({cell(row['runbook'])}): {cell(row['reason'])}")
            elif key == "reopened":
                out.append(f"- “{cell(row['label'])}” ({cell(row['runbook'])}), reopened {row['times']}×")
            else:
                out.append(f"- {row['line']}" + (f": {cell(row['reason'])}" if row.get("reason") else ""))
                out += ["", _indent(fence(row["script"], "sh"))]
        out.append("")

    for spec in SECTIONS:
        if spec.key not in ("summary", "impact"):
            section(spec.key)

    out += ["## Action items", ""]
    if items:
        out += ["| Item | Owner | Due | Priority | Status |", "|---|---|---|---|---|"]
        for item in items:
            status = item.get_status_display() + (f": {item.reason}" if item.reason else "")
            runbook = f" (runbook “{item.runbook.title}”)" if item.runbook_id else ""
            out.append(f"| {cell(item.description + runbook)} | {cell(_name(item.owner) if item.owner else '—')} | "
                       f"{item.due_date:%Y-%m-%d} | {item.get_priority_display()} | {cell(status)} |")
    else:
        out.append("_None._")
    out.append("")
    return "\n".join(out)


def _indent(block: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in block.split("\n"))
