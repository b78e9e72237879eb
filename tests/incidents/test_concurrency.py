"""Two people at the same moment, on PostgreSQL with real row locks: one wins, the other is told, nothing is lost."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from incidents.models import ChecklistItem, EventKind, Incident, IncidentError, Status, TimelineEvent
from tests.conftest import https_client
from tests.factories import make_runbook, make_severities

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def at_once(*actions, rounds_timeout: float = 10.0) -> list[str]:
    """Run the actions in threads released together; each result is "ok" or the refusal's message."""
    barrier = threading.Barrier(len(actions))
    results: list[str] = [""] * len(actions)

    def run(index, action):
        try:
            barrier.wait(rounds_timeout)
            action()
            results[index] = "ok"
        except IncidentError as exc:
            results[index] = str(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(rounds_timeout)
    return results


@pytest.fixture
def incident(postgres, commander):
    sev = make_severities()
    runbook = make_runbook("Queue backlog", steps=[("triage", "Check the queue depth", []),
                                                   ("mitigation", "Add consumers", [])])
    return Incident.declare(title="Orders stuck", severity=sev[0], by=commander, runbooks=[runbook])


@pytest.mark.parametrize("attempt", range(3))
def test_two_people_ticking_the_same_item_make_one_tick(incident, commander, responder, attempt):
    item_pk = incident.checklist.first().pk
    revision = Incident.objects.get(pk=incident.pk).revision
    results = at_once(lambda: ChecklistItem.objects.get(pk=item_pk).tick(by=commander),
                      lambda: ChecklistItem.objects.get(pk=item_pk).tick(by=responder))
    assert sorted(r == "ok" for r in results) == [False, True]
    refusal = next(r for r in results if r != "ok")
    assert "is already done by" in refusal
    assert TimelineEvent.objects.filter(incident=incident, kind=EventKind.CHECKLIST).count() == 1
    assert Incident.objects.get(pk=incident.pk).revision == revision + 1


def test_two_ticks_through_the_web_make_one_tick(incident, commander, responder):
    item = incident.checklist.first()
    url = f"/incidents/{incident.pk}/items/{item.pk}/"
    clients = []
    for user in (commander, responder):
        client = https_client()
        client.force_login(user)
        clients.append(client)
    responses = []
    results = at_once(*[lambda c=c: responses.append(c.post(url, {"action": "tick"}, follow=True)) for c in clients])
    assert results == ["ok", "ok"]
    pages = [r.content.decode() for r in responses]
    assert sum("is already done by" in p for p in pages) == 1
    assert TimelineEvent.objects.filter(incident=incident, kind=EventKind.CHECKLIST).count() == 1


def test_two_status_changes_from_the_same_page_make_one_change(incident, commander, commander2):
    revision = Incident.objects.get(pk=incident.pk).revision
    results = at_once(
        lambda: Incident.objects.get(pk=incident.pk).transition(Status.IDENTIFIED, by=commander, revision=revision),
        lambda: Incident.objects.get(pk=incident.pk).transition(Status.MITIGATED, by=commander2, revision=revision),
    )
    assert sorted(r == "ok" for r in results) == [False, True]
    assert any("Someone else changed this incident" in r for r in results)
    stored = Incident.objects.get(pk=incident.pk)
    assert TimelineEvent.objects.filter(incident=incident, kind=EventKind.STATUS).count() == 1
    assert stored.revision == revision + 1


def test_the_same_status_change_twice_at_once_is_recorded_once(incident, commander, commander2):
    results = at_once(lambda: Incident.objects.get(pk=incident.pk).transition(Status.IDENTIFIED, by=commander),
                      lambda: Incident.objects.get(pk=incident.pk).transition(Status.IDENTIFIED, by=commander2))
    assert sorted(r == "ok" for r in results) == [False, True]
    assert TimelineEvent.objects.filter(incident=incident, kind=EventKind.STATUS).count() == 1


def test_changes_to_different_things_at_once_are_all_kept(incident, commander, responder, commander2):
    first, second = incident.checklist.order_by("order")
    revision = Incident.objects.get(pk=incident.pk).revision
    results = at_once(lambda: ChecklistItem.objects.get(pk=first.pk).tick(by=commander),
                      lambda: ChecklistItem.objects.get(pk=second.pk).tick(by=responder),
                      lambda: Incident.objects.get(pk=incident.pk).add_note("watching", by=commander2),
                      lambda: Incident.objects.get(pk=incident.pk).assign_role("scribe", commander2, by=commander))
    assert results == ["ok"] * 4
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.revision == revision + 4 and stored.scribe == commander2
    assert set(stored.checklist.values_list("state", flat=True)) == {"done"}
