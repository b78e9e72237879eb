"""How a runbook fared in incidents: where it was used, steps most often skipped (and why), commands that
failed, and open action items against it. Runbooks never import incidents, so this is served from here and
loaded into the runbook page. Five queries, whatever the runbook's history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from runbooks.models import Runbook

from .models import ActionItem, ChecklistItem, CommandRun, IncidentRunbook

SHOWN = 10
FAILED = (CommandRun.State.FAILED, CommandRun.State.TIMED_OUT, CommandRun.State.LOST)


@dataclass
class Skipped:
    label: str
    count: int = 0
    reasons: Counter = field(default_factory=Counter)
    incidents: set = field(default_factory=set)

    @property
    def top_reasons(self) -> list[tuple[str, int]]:
        return self.reasons.most_common(3)


@dataclass
class Failed:
    command: str
    count: int = 0
    last_state: str = ""
    last_exit: int | None = None
    last_reason: str = ""
    incidents: set = field(default_factory=set)

    @property
    def last_state_label(self) -> str:
        return CommandRun.State(self.last_state).label if self.last_state in CommandRun.State.values else ""


@dataclass
class Record:
    used: int
    recent: list
    skipped: list[Skipped]
    failed: list[Failed]
    actions: list


def runbook_record(runbook: Runbook) -> Record:
    links = IncidentRunbook.objects.filter(runbook=runbook).select_related("incident__severity", "version") \
        .order_by("-attached_at", "-pk")
    recent = list(links[:SHOWN])
    used = links.count()
    skipped: dict[str, Skipped] = {}
    for heading, text, commands, reason, incident_id in ChecklistItem.objects.filter(
            incident_runbook__runbook=runbook, state=ChecklistItem.State.SKIPPED).values_list(
            "heading", "text", "commands", "skip_reason", "incident_id"):
        label = text or heading or (commands[0].get("text", "") if commands else "a step")
        entry = skipped.setdefault(label, Skipped(label))
        entry.count += 1
        entry.incidents.add(incident_id)
        if reason:
            entry.reasons[reason] += 1
    failed: dict[str, Failed] = {}
    for template, state, code, reason, incident_id in CommandRun.objects.filter(
            checklist_item__incident_runbook__runbook=runbook, state__in=FAILED).order_by(
            "created_at", "pk").values_list("template", "state", "exit_code", "reason", "incident_id"):
        entry = failed.setdefault(template, Failed(template))
        entry.count += 1
        entry.last_state, entry.last_exit, entry.last_reason = state, code, reason
        entry.incidents.add(incident_id)
    actions = list(ActionItem.objects.open().filter(runbook=runbook).for_list())
    return Record(
        used=used, recent=recent,
        skipped=sorted(skipped.values(), key=lambda s: (-s.count, s.label))[:SHOWN],
        failed=sorted(failed.values(), key=lambda f: (-f.count, f.command))[:SHOWN],
        actions=actions,
    )
