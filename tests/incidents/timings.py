"""An incident built minute by minute (time-machine), so drafts and metrics can be checked to the second.

Impact 08:50 (an alert's startsAt), declared 09:00 as SEV2, paged 09:05, acknowledged 09:12 (22 min after impact),
raised to SEV1 (15 min response) at 09:15, one step done, one skipped, one failed run, one run no runbook holds,
an important note, mitigated 09:40 (50 min), a step reopened, resolved 10:20 (1 h 30 min).
"""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from incidents.models import CommandRun, EventKind, ExecutionTarget, Incident
from tests.factories import make_runbook, make_service, make_severities

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm, second=ss)


def build(commander, responder) -> Incident:
    sev = make_severities()
    runbook = make_runbook("Queue backlog", steps=[
        ("triage", "Check the queue depth", ["rabbitmqctl list_queues name messages"]),
        ("mitigation", "Restart the consumers", ["kubectl rollout restart deploy/consumers -n orders"]),
        ("verification", "Watch the depth fall", []),
    ])
    target = ExecutionTarget.objects.get_or_create(name="local", defaults={"is_default": True})[0]
    with time_machine.travel(at(9, 0), tick=False) as clock:
        incident = Incident.declare(title="Orders stuck", severity=sev[1], by=commander, commander=commander,
                                    service=make_service("orders"), runbooks=[runbook],
                                    impact_started_at=at(8, 50), summary="Orders pile up in the queue")
        clock.move_to(at(9, 5))
        incident.record(EventKind.NOTIFICATION, None, "Paged rosa by email", data={"user": responder.pk})
        clock.move_to(at(9, 6))
        incident.record("page", None, "Paged rosa by SMS (escalation tier 2)")  # a kind the escalation work may add
        clock.move_to(at(9, 12))
        incident.acknowledge(by=responder)
        clock.move_to(at(9, 15))
        incident.change_severity(sev[0], by=commander)
        items = list(incident.checklist.order_by("order"))
        clock.move_to(at(9, 20))
        items[0].tick(by=responder)
        clock.move_to(at(9, 22))
        items[1].skip(by=responder, reason="no kubectl access from the bastion")
        clock.move_to(at(9, 25))
        CommandRun.objects.create(
            incident=incident, checklist_item=items[1], command_index=0, template=items[1].commands[0]["text"],
            script="kubectl rollout restart deploy/consumers -n orders", target=target, queue="commands",
            state=CommandRun.State.FAILED, exit_code=1, requested_by=responder, started_at=at(9, 25),
            finished_at=at(9, 25, 4), output="".join(f"line {n}\n" for n in range(20))
            + "Error from server (Forbidden): deployments.apps is forbidden\n")
        CommandRun.objects.create(
            incident=incident, checklist_item=None, template="psql -c 'select count(*) from orders'",
            script="psql -c 'select count(*) from orders'", target=target, queue="commands",
            state=CommandRun.State.SUCCEEDED, exit_code=0, requested_by=commander, started_at=at(9, 26),
            finished_at=at(9, 26, 2), output=" count \n-------\n 48213\n")
        clock.move_to(at(9, 30))
        incident.add_note("Consumers stuck on a poison message", by=commander, important=True)
        incident.add_note("Getting coffee", by=responder)
        clock.move_to(at(9, 40))
        incident.transition("mitigated", by=commander)
        clock.move_to(at(9, 45))
        items[0].reopen(by=responder)
        items[0].tick(by=responder)
        clock.move_to(at(10, 20))
        incident.transition("resolved", by=commander)
    incident.refresh_from_db()
    return incident
