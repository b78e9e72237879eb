"""Engine ticks racing each other and an acknowledgement, on PostgreSQL, with threads: nobody is paged twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from incidents import paging
from incidents.models import Escalation, Incident, Page
from tests.factories import make_severities
from tests.paging_factories import make_person, make_policy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]


def run_together(*functions):
    """Start every function at the same moment in its own thread (own connection); return what each raised."""
    barrier = threading.Barrier(len(functions))
    errors: list[BaseException] = []

    def run(fn):
        try:
            barrier.wait()
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


@pytest.fixture
def due_incidents(postgres, commander, monkeypatch):
    monkeypatch.setattr(paging, "enqueue", lambda ids, countdown=None: None)
    sev = make_severities()
    make_policy(sev[0], [(5, [make_person("Ana")]), (5, [make_person("Ben"), make_person("Cleo")])])
    incidents = [Incident.declare(title=f"Incident {i}", severity=sev[0], by=commander) for i in range(40)]
    Escalation.objects.update(next_due_at=timezone.now() - timedelta(seconds=1))
    return incidents


def test_racing_ticks_fire_every_due_escalation_exactly_once(due_incidents):
    results = []
    errors = run_together(*[lambda: results.append(paging.tick(limit=7)) for _ in range(4)])
    assert errors == []
    assert sum(r.escalations for r in results) == 40
    tier2 = Page.objects.filter(tier=1)
    assert tier2.count() == 80 and tier2.values("incident", "name").distinct().count() == 80
    assert set(Escalation.objects.values_list("next_tier", flat=True)) == {2}


def test_a_tick_racing_an_acknowledgement_never_leaves_a_later_tier_to_send(due_incidents, responder):
    targets = due_incidents[:10]
    errors = run_together(lambda: paging.tick(),
                          *[lambda i=i: Incident.objects.get(pk=i.pk).acknowledge(by=responder) for i in targets])
    assert errors == []
    for incident in targets:
        assert Escalation.objects.get(incident=incident).state == "acknowledged"
        assert not Page.objects.filter(incident=incident, tier=1, state=Page.State.PENDING).exists()
    assert Page.objects.filter(incident__in=due_incidents[10:], tier=1).count() == 60


def test_two_deliveries_of_the_same_pages_at_once_send_each_page_once(due_incidents):
    from django.core import mail

    ids = list(Page.objects.filter(state=Page.State.PENDING).values_list("pk", flat=True))
    errors = run_together(lambda: paging.deliver(ids), lambda: paging.deliver(ids), lambda: paging.deliver(ids))
    assert errors == []
    assert len(mail.outbox) == len(ids) and Page.objects.filter(state=Page.State.SENT).count() == len(ids)
    assert connection.vendor == "postgresql"
