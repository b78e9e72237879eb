"""Every page of the console, with enough in it to be worth looking at: for the screenshot and axe-core tests.

build_pages() fills the database as a busy night leaves it (open incidents of every severity, one acknowledged
late, one overdue, a run with output, a resolved incident with its postmortem and an action item) and returns
(name, path) for each page a person can open, the admin's and the error pages included.
"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from incidents.models import ActionItem, CommandRun, ExecutionTarget, Incident, Postmortem
from runbooks.models import SeverityLevel
from tests.factories import make_runbook, make_service, make_severities
from tests.incidents.timings import build


def build_pages(admin, commander, responder) -> list[tuple[str, str]]:
    sev = make_severities()
    SeverityLevel.objects.get_or_create(name="Informational", defaults={"rank": 4, "aliases": ["SEV5"]})
    service = make_service("checkout-api")
    runbook = make_runbook(
        "Checkout errors after a deploy", service=service, alerts=["CheckoutErrorRate"],
        patterns=["upstream connect error"],
        steps=[("triage", "Check the error rate on the **checkout** dashboard", []),
               ("investigation", "List the pods and look for restarts",
                ["kubectl get pods -n <namespace>", "kubectl logs deploy/checkout -n <namespace> --tail=50"]),
               ("mitigation", "Roll back the last deploy", ["kubectl rollout undo deploy/checkout -n checkout"])],
    )
    target = ExecutionTarget.objects.get_or_create(name="local", defaults={"is_default": True})[0]
    target.allowed_programs = ["echo", "kubectl"]
    target.save()
    checkout = Incident.declare(
        title="Checkout errors after the 07:30 deploy", severity=sev[0], by=commander, commander=commander,
        service=service, runbooks=[runbook], summary="upstream connect error or disconnect/reset before headers\n"
        "seen on 30% of POST /checkout since 07:31",
    )
    items = list(checkout.checklist.order_by("order"))
    items[0].tick(by=commander)
    CommandRun.objects.create(
        incident=checkout, checklist_item=items[1], command_index=0, template=items[1].commands[0]["text"],
        script="kubectl get pods -n checkout", target=target, queue="commands", state=CommandRun.State.SUCCEEDED,
        exit_code=0, requested_by=commander, started_at=timezone.now(), finished_at=timezone.now(),
        output="NAME                        READY   STATUS             RESTARTS\n"
               "checkout-7d9f8b6c4-2xk9p    0/1     CrashLoopBackOff   7\n"
               "checkout-7d9f8b6c4-h8d2m    1/1     Running            0\n",
    )
    checkout.add_note("Rolled back 10% of the canary; errors unchanged", by=commander, important=True)
    # Overdue: declared long ago, nobody acknowledged it (impact started before its response time).
    Incident.declare(title="Payments webhook queue growing", severity=sev[1], by=None,
                     impact_started_at=timezone.now() - timedelta(hours=1))
    late = Incident.declare(title="Search results slow for logged-in users", severity=sev[2], by=responder,
                            impact_started_at=timezone.now() - timedelta(minutes=20))
    late.acknowledge(by=responder)
    Incident.declare(title="A very long title: the nightly export to the data warehouse has not finished and the "
                     "finance reports for the morning will be empty unless someone restarts it", severity=sev[3],
                     by=responder)
    Incident.declare(title="Status page certificate expires in 9 days", severity=SeverityLevel.objects.get(rank=4),
                     by=responder)

    resolved = build(commander, responder)
    Postmortem.generate(resolved, by=commander)
    ActionItem.raise_item(resolved, description="Send malformed messages to a dead-letter queue", owner=responder,
                          due_date=None, by=commander)
    run = CommandRun.objects.filter(incident=checkout).first()
    item = items[1]
    return [
        ("dashboard", "/"),
        ("wall", "/wall/"),
        ("incidents", reverse("incidents:list")),
        ("declare", reverse("incidents:declare")),
        ("incident", checkout.get_absolute_url()),
        ("incident-resolved", resolved.get_absolute_url()),
        ("run-new", reverse("incidents:run_new", args=[checkout.pk, item.pk, 0])),
        ("run", reverse("incidents:run_detail", args=[checkout.pk, run.pk])),
        ("runs", reverse("incidents:runs", args=[checkout.pk])),
        ("attach", reverse("incidents:attach_search", args=[checkout.pk])),
        ("postmortem", reverse("incidents:postmortem", args=[resolved.pk])),
        ("postmortem-history", reverse("incidents:postmortem_history", args=[resolved.pk])),
        ("postmortem-print", reverse("incidents:postmortem_print", args=[resolved.pk])),
        ("postmortems", reverse("incidents:postmortems")),
        ("actions", reverse("followup:actions")),
        ("metrics", reverse("followup:metrics")),
        ("runbook-record", reverse("followup:runbook_record", args=[runbook.slug])),
        ("runbooks", reverse("runbooks:list")),
        ("runbook", reverse("runbooks:detail", args=[runbook.slug])),
        ("runbook-versions", reverse("runbooks:versions", args=[runbook.slug])),
        ("match", reverse("runbooks:match") + "?q=upstream+connect+error"),
        ("severity", reverse("oncall:severity")),
        ("escalation", reverse("oncall:escalation")),
        ("api-docs", reverse("api:docs")),
        ("admin", "/admin/"),
        ("admin-incidents", "/admin/incidents/incident/"),
        ("admin-runbook", f"/admin/runbooks/runbook/{runbook.pk}/change/"),
        ("admin-target", f"/admin/incidents/executiontarget/{target.pk}/change/"),
        ("not-found", "/incidents/999999/"),
    ]


def logged_out_pages() -> list[tuple[str, str]]:
    return [("login", "/accounts/login/")]
