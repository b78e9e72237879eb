"""Resolving with care: a summary, what is still open; reopening; a closed incident offers nothing it refuses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import EventKind, ExecutionTarget, Incident, Status
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(db, commander):
    runbook = make_runbook("Queue backlog", steps=[("triage", "Check the depth", ["echo depth"]),
                                                   ("mitigation", "Add consumers", []),
                                                   ("recovery", "Drain", [])])
    return Incident.declare(title="Orders stuck", severity=make_severities()[3], by=commander, commander=commander,
                            runbooks=[runbook])


def post(client, incident, **data):
    incident.refresh_from_db()
    return client.post(reverse("incidents:transition", args=[incident.pk]),
                       {"revision": incident.revision, **data}, follow=True).content.decode()


def test_resolving_asks_for_a_summary_and_says_how_many_items_are_open(as_user, commander, incident):
    incident.checklist.order_by("order").first().tick(by=commander)
    page = as_user(commander).get(incident.get_absolute_url()).content.decode()
    assert "Resolution summary" in page and "2 of 3 checklist items are still open." in page
    answer = post(as_user(commander), incident, to="resolved", note="  ")
    assert "Say in a line what resolved it" in answer
    incident.refresh_from_db()
    assert incident.status == Status.DECLARED


def test_the_summary_goes_on_the_timeline(as_user, commander, incident):
    post(as_user(commander), incident, to="resolved", note="Rolled back the 09:10 deploy")
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    event = incident.timeline.filter(kind=EventKind.STATUS).last()
    assert event.message == "Declared → Resolved: Rolled back the 09:10 deploy"


def test_a_commander_reopens_a_resolved_incident(as_user, commander, incident):
    incident.transition(Status.RESOLVED, by=commander, note="fixed")
    page = as_user(commander).get(incident.get_absolute_url()).content.decode()
    assert "Reopen as investigating" in page and "Resolve…" not in page
    post(as_user(commander), incident, to="investigating")
    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING and incident.resolved_at is None
    assert incident.timeline.filter(kind=EventKind.STATUS).last().message == "Reopened: Resolved → Investigating"


def test_a_closed_incident_shows_no_action_it_would_refuse(as_user, commander, incident):
    ExecutionTarget.objects.create(name="local", allowed_programs=["echo"], is_default=True)
    incident.transition(Status.RESOLVED, by=commander, note="fixed")
    incident.transition(Status.CLOSED, by=commander)
    page = as_user(commander).get(incident.get_absolute_url()).content.decode()
    for action in ('value="tick"', "Skip…", ">Run<", "Resolve…", "Reopen", ">Assign<", "Attach another runbook",
                   ">Acknowledge<", ">Change<"):
        assert action not in page, action
