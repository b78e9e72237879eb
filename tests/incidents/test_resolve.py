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


# --- a checklist pinned to an older runbook version ----------------------------------------------

def new_version(runbook, steps):
    """Rewrite the runbook's steps (phase, text, commands) and record a version, as the admin or an import does."""
    from django.db import transaction

    from runbooks.models import Command, Step

    with transaction.atomic():
        runbook.steps.all().delete()
        for order, (phase, text, commands) in enumerate(steps):
            step = Step.objects.create(runbook=runbook, order=order, phase=phase, text=text)
            for n, command in enumerate(commands):
                Command.objects.create(step=step, order=n, text=command)
        runbook.record_version(note="edited by a test")


def test_a_checklist_on_an_older_version_says_so_with_the_diff(as_user, commander, incident):
    link = incident.runbooks.get()
    new_version(link.runbook, [("triage", "Check the depth", ["echo depth"]), ("mitigation", "Add consumers", [])])
    page = as_user(commander).get(incident.get_absolute_url() + "?kind=note").content.decode()
    assert "This runbook has a newer version, v2." in page and "Update the checklist" in page
    assert reverse("runbooks:diff", args=[link.runbook.slug, 1, 2]) in page


def test_updating_the_checklist_moves_open_steps_and_keeps_done_ones(as_user, commander, incident):
    link = incident.runbooks.get()
    depth, consumers, drain = incident.checklist.order_by("order")
    depth.tick(by=commander)
    drain.tick(by=commander)
    new_version(link.runbook, [("triage", "Check the depth", ["echo new depth"]),
                               ("mitigation", "Add consumers", ["echo scale"]),
                               ("mitigation", "Tell support", [])])
    as_user(commander).post(reverse("incidents:follow_runbook", args=[incident.pk, link.pk]))
    link.refresh_from_db()
    assert link.version.number == 2
    items = {i.text: i for i in incident.checklist.all()}
    assert set(items) == {"Check the depth", "Add consumers", "Tell support", "Drain"}
    assert items["Check the depth"].state == "done" and items["Check the depth"].commands[0]["text"] == "echo depth"
    assert items["Add consumers"].state == "open" and items["Add consumers"].commands[0]["text"] == "echo scale"
    assert items["Drain"].state == "done" and items["Tell support"].state == "open"
    assert [i.text for i in incident.checklist.order_by("order")][-1] == "Drain"
    event = incident.timeline.filter(kind=EventKind.RUNBOOK).last()
    assert event.message.startswith("Checklist “Queue backlog” updated from v1 to v2: 2 open steps follow")
    assert "2 done or skipped kept" in event.message


def test_an_open_step_the_new_version_dropped_goes(commander, incident):
    link = incident.runbooks.get()
    new_version(link.runbook, [("triage", "Check the depth", ["echo depth"])])
    link.follow_current(by=commander)
    assert list(incident.checklist.values_list("text", flat=True)) == ["Check the depth"]


def test_updating_a_checklist_already_on_the_latest_version_is_refused(as_user, commander, incident):
    link = incident.runbooks.get()
    answer = as_user(commander).post(reverse("incidents:follow_runbook", args=[incident.pk, link.pk]),
                                     follow=True).content.decode()
    assert "already follows the latest version (v1)" in answer
    assert incident.checklist.count() == 3


def test_a_responder_cannot_update_the_checklist(as_user, responder, incident):
    link = incident.runbooks.get()
    response = as_user(responder).post(reverse("incidents:follow_runbook", args=[incident.pk, link.pk]))
    assert response.status_code == 403
