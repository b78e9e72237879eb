"""The response clock follows the work: declaring in the browser, or a first tick, note or run, acknowledges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents import paging
from incidents.models import CommandRun, Escalation, EventKind, ExecutionTarget, Incident, Page
from tests.factories import make_runbook, make_severities
from tests.paging_factories import make_person, make_policy

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sev(db):
    return make_severities()


@pytest.fixture
def people(db):
    return {name: make_person(name) for name in ("Ana", "Ben")}


def paged(incident) -> list[tuple[str, str]]:
    return list(Page.objects.filter(incident=incident).order_by("pk").values_list("name", "state"))


def from_an_alert(sev, **kw) -> Incident:
    """As alert ingest declares: nobody behind it."""
    return Incident.declare(title="CheckoutLatencyHigh", severity=sev[0], by=None, source="alert", **kw)


def test_declaring_in_the_browser_acknowledges_and_still_pages_the_first_tier(clock, client, sev, people, commander):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]])])
    client.force_login(commander)
    client.post(reverse("incidents:declare"), {"symptoms": "Checkout returns 502", "severity": sev[0].pk})
    incident = Incident.objects.get()
    assert (incident.acknowledged_by, incident.acknowledged_at) == (commander, START)
    assert incident.time_to_acknowledge == timedelta(0) and not incident.response_breached
    ack = incident.timeline.get(kind=EventKind.ACKNOWLEDGED)
    assert "they declared it" in ack.message
    clock.shift(timedelta(minutes=30))
    paging.tick()
    assert paged(incident) == [("Ana", "pending")]  # tier 1 told at declare; nobody escalated to
    assert Escalation.objects.get(incident=incident).state == "acknowledged"


@pytest.mark.parametrize("work", ["tick", "skip", "note"])
def test_the_first_tick_skip_or_note_acknowledges_an_alert_born_incident(clock, sev, people, responder, work):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]])])
    runbook = make_runbook("Checkout latency high", steps=[("triage", "Look at p99", [])])
    incident = from_an_alert(sev, runbooks=[runbook])
    assert incident.acknowledged_at is None
    clock.shift(timedelta(minutes=2))
    item = incident.checklist.get()
    if work == "tick":
        item.tick(by=responder)
    elif work == "skip":
        item.skip(by=responder, reason="dashboards down")
    else:
        incident.add_note("looking at the pods", by=responder)
    incident.refresh_from_db()
    assert (incident.acknowledged_by, incident.acknowledged_at) == (responder, START + timedelta(minutes=2))
    ack = incident.timeline.get(kind=EventKind.ACKNOWLEDGED)
    assert ack.message == f"Acknowledged by rosa: their {work} counts as one"
    clock.shift(timedelta(minutes=10))
    paging.tick()
    assert [name for name, _ in paged(incident)] == ["Ana"]  # the acknowledgement stopped tier 2


def test_only_the_first_piece_of_work_acknowledges(sev, responder, commander):
    incident = from_an_alert(sev)
    incident.add_note("first", by=responder)
    incident.add_note("second", by=commander)
    incident.refresh_from_db()
    assert incident.acknowledged_by == responder
    assert incident.timeline.filter(kind=EventKind.ACKNOWLEDGED).count() == 1


def test_a_command_run_acknowledges_and_an_unacknowledged_incident_shows_due(sev, responder, client):
    target = ExecutionTarget.objects.create(name="local", allowed_programs=["echo"], is_default=True)
    runbook = make_runbook("Echo", steps=[("triage", "Say hi", ["echo hi"])])
    incident = from_an_alert(sev, runbooks=[runbook])
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "data-due=" in page and ">Acknowledge</button>" in page
    CommandRun.request(item=incident.checklist.get(), index=0, values={}, by=responder, target=target)
    incident.refresh_from_db()
    assert incident.acknowledged_by == responder
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "data-due=" not in page and ">Acknowledge</button>" not in page
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds.index("acknowledged") < kinds.index("command")


def test_work_on_a_resolved_incident_does_not_acknowledge_it(sev, responder, commander):
    incident = from_an_alert(sev)
    incident.transition("resolved", by=None)
    incident.add_note("postscript", by=responder)
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_an_api_or_alert_declaration_is_not_acknowledged(sev, commander):
    incident = Incident.declare(title="Disk full", severity=sev[2], by=commander)
    assert incident.acknowledged_at is None
