"""A runbook's page shows how it fared: incidents that used it, skipped steps, failed commands, open items."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import ActionItem, Incident
from tests.incidents.timings import build

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def incident(commander, responder):
    return build(commander, responder)


@pytest.fixture
def runbook(incident):
    return incident.runbooks.get().runbook


def record_url(runbook):
    return reverse("followup:runbook_record", args=[runbook.slug])


def test_the_runbook_page_loads_the_record_with_a_plain_link_too(as_user, runbook, viewer):
    page = as_user(viewer).get(runbook.get_absolute_url()).content.decode()
    assert f'hx-get="{record_url(runbook)}"' in page and f'href="{record_url(runbook)}"' in page


def test_the_record_lists_use_skips_with_reasons_failures_and_open_items(as_user, incident, runbook, commander,
                                                                         responder, viewer):
    again = Incident.declare(title="Orders stuck again", severity=incident.severity, by=commander, runbooks=[runbook])
    again.checklist.get(order=1).skip(by=responder, reason="no kubectl access from the bastion")
    again.checklist.get(order=2).skip(by=responder, reason="not needed")
    ActionItem.raise_item(incident, description="Give the bastion kubectl", owner=responder, due_date=None,
                          by=commander, runbook=runbook)
    fragment = as_user(viewer).get(record_url(runbook), **HTMX).content.decode()
    assert "<html" not in fragment and "Used in 2 incidents." in fragment
    assert "Orders stuck again" in fragment and f"#{incident.pk} Orders stuck" in fragment
    skipped = fragment.split("Steps most often skipped")[1].split("Commands that failed")[0]
    assert skipped.index("2×") < skipped.index("1×")
    assert "<strong>2×</strong> “Restart the consumers”: <em>no kubectl access from the bastion</em> (2×)" in skipped
    failed = fragment.split("Commands that failed")[1].split("Open action items")[0]
    assert "1×</strong> in 1 incident; last failed (exit 1)" in failed
    assert "kubectl rollout restart deploy/consumers -n orders" in failed
    assert "Give the bastion kubectl" in fragment.split("Open action items")[1]
    # The psql run no runbook held is not this runbook's failure, and a plain visit gets a whole page.
    assert "psql" not in fragment
    assert "<html" in as_user(viewer).get(record_url(runbook)).content.decode()


def test_an_unknown_runbook_is_404(as_user, viewer):
    assert as_user(viewer).get("/runbooks/no-such-runbook/record/").status_code == 404


def test_the_record_costs_the_same_queries_with_1_and_12_incidents(as_user, runbook, commander, responder, viewer):
    client = as_user(viewer)
    client.get(record_url(runbook), **HTMX)  # a session's first read finds the user; later ones reuse it
    with CaptureQueriesContext(connection) as small:
        client.get(record_url(runbook), **HTMX)
    for n in range(11):
        other = Incident.declare(title=f"Again {n}", severity=runbook.incident_links.first().incident.severity,
                                 by=commander, runbooks=[runbook])
        other.checklist.get(order=0).skip(by=responder, reason=f"reason {n % 3}")
    with CaptureQueriesContext(connection) as large:
        fragment = client.get(record_url(runbook), **HTMX).content.decode()
    assert "Used in 12 incidents." in fragment
    assert len(large) == len(small)
