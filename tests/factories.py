"""Plain make_* functions for test data."""

from __future__ import annotations

from django.db import transaction

from runbooks.models import Command, Runbook, Service, SeverityLevel, Step


def make_severities() -> list[SeverityLevel]:
    rows = [("SEV1", 0, 15, ["Critical", "P1"]), ("SEV2", 1, 30, ["Major", "P2"]),
            ("SEV3", 2, 240, ["Minor", "P3"]), ("SEV4", 3, None, ["Low", "P4"])]
    return [
        SeverityLevel.objects.get_or_create(
            name=name, defaults={"rank": rank, "response_minutes": minutes, "aliases": aliases,
                                 "description": f"{name} description", "examples": [f"{name} example"]},
        )[0]
        for name, rank, minutes, aliases in rows
    ]


def make_service(name: str = "checkout-api") -> Service:
    return Service.objects.get_or_create(name=name)[0]


def make_runbook(title: str = "Checkout latency high", *, steps=None, service=None, alerts=(), patterns=(),
                 key=None) -> Runbook:
    """A runbook with a version; steps are (phase, text, [commands]) triples."""
    steps = steps if steps is not None else [
        ("detection", "Confirm p99 latency on the dashboard", []),
        ("investigation", "List the pods", ["kubectl get pods -n <namespace>"]),
        ("mitigation", "Restart the deployment", ["kubectl rollout restart deploy/checkout -n <namespace>"]),
    ]
    with transaction.atomic():
        runbook = Runbook.objects.create(title=title, key=key, service=service, alerts=list(alerts),
                                         error_patterns=list(patterns), body_markdown=f"# {title}")
        for order, (phase, text, commands) in enumerate(steps):
            step = Step.objects.create(runbook=runbook, order=order, phase=phase, text=text)
            for n, command in enumerate(commands):
                Command.objects.create(step=step, order=n, text=command)
        runbook.record_version(note="created by a test")
    return runbook


def declare_queue_incident(by, *, commander=None, severity=None):
    """An open SEV1 "Orders stuck" with a two-step runbook attached (triage, then mitigation)."""
    from incidents.models import Incident

    runbook = make_runbook("Queue backlog", steps=[("triage", "Check the queue depth", []),
                                                   ("mitigation", "Add consumers", [])])
    return Incident.declare(title="Orders stuck", severity=severity or make_severities()[0], by=by,
                            commander=commander, runbooks=[runbook])


def running_command(by, *, script: str = "for i in 1 2 3; do echo line $i; done"):
    """A command run a worker has claimed and is running, on an incident of its own: as it is while it prints."""
    from incidents.models import CommandRun, ExecutionTarget, Incident

    target, _ = ExecutionTarget.objects.get_or_create(name="local", defaults={"allowed_programs": ["echo"]})
    runbook = make_runbook(f"Runbook for {script[:40]}", steps=[("investigation", "Run it", [script])])
    incident = Incident.declare(title="Printing", severity=make_severities()[2], by=by, commander=by,
                                runbooks=[runbook])
    run = CommandRun.request(item=incident.checklist.get(), index=0, values={}, by=by, target=target)
    assert run.claim("host-a")
    return run
