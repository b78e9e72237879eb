"""/wall/ for the screen in the room, the tab titles and the dashboard's words for the response clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from tests.factories import make_severities
from tests.incidents.test_queries import add_incidents, queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev(db):
    return make_severities()


@pytest.fixture
def overdue(sev, commander):
    incident = Incident.declare(title="Nobody looked", severity=sev[0], by=commander)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Incident.objects.filter(pk=incident.pk).update(declared_at=an_hour_ago, impact_started_at=an_hour_ago)
    return incident


def test_the_wall_shows_open_incidents_as_tiles_without_navigation(as_user, viewer, sev, commander, overdue):
    Incident.declare(title="Search is slow", severity=sev[2], by=commander).transition("resolved", by=commander)
    Incident.declare(title="Exports late", severity=sev[3], by=commander)
    page = as_user(viewer).get(reverse("wall")).content.decode()
    assert page.count('<li class="wall-tile ') == 2
    assert "Nobody looked" in page and "Exports late" in page and "Search is slow" not in page
    assert 'class="mainnav"' not in page and "Declare incident" not in page
    assert "tile-sev-0" in page and "tile-sev-3" in page  # coloured by severity
    assert "1 not acknowledged in time" in page
    assert 'class="tile-response breached"' in page
    assert "<title>2 open · Wall · Incident Console</title>" in page


def test_the_wall_poll_answers_204_until_something_changes(as_user, viewer, sev, commander, overdue):
    client = as_user(viewer)
    page = client.get(reverse("wall")).content.decode()
    fingerprint = page.split("?fp=")[1].split('"')[0]
    assert client.get(reverse("wall"), {"fp": fingerprint}).status_code == 204
    overdue.acknowledge(by=commander)
    response = client.get(reverse("wall"), {"fp": fingerprint}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "acknowledged after" in body and "not acknowledged in time" not in body


def test_an_empty_wall_says_all_clear(as_user, viewer, sev):
    page = as_user(viewer).get(reverse("wall")).content.decode()
    assert "All clear." in page and "<title>All clear · Wall" in page


def test_the_wall_needs_a_login(client):
    response = client.get(reverse("wall"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_wall_and_its_poll_cost_the_same_with_10_and_1000_incidents(client, viewer, sev, commander,
                                                                        settings):
    settings.PAGE_CACHE_SECONDS = 0
    client.force_login(viewer)
    add_incidents(10, sev, commander)
    small, page = queries(client, reverse("wall"))
    small_poll, _ = queries(client, reverse("wall") + "?fp=stale")
    fingerprint = page.split("?fp=")[1].split('"')[0]
    with CaptureQueriesContext(connection) as unchanged:
        assert client.get(reverse("wall"), {"fp": fingerprint}).status_code == 204
    add_incidents(990, sev, commander)
    large, page = queries(client, reverse("wall"))
    large_poll, _ = queries(client, reverse("wall") + "?fp=stale")
    assert page.count('<li class="wall-tile ') > 700
    assert large == small and large_poll == small_poll
    assert len(unchanged) <= 3  # the session, the user, the fingerprint: nothing more while nothing changed


def test_the_tab_title_carries_severity_status_and_title(as_user, viewer, sev, commander):
    incident = Incident.declare(title="Checkout errors", severity=sev[0], by=commander)
    incident.transition("investigating", by=commander)
    page = as_user(viewer).get(incident.get_absolute_url()).content.decode()
    assert "<title>SEV1 · Investigating · Checkout errors · Incident Console</title>" in page
    dashboard = as_user(viewer).get(reverse("dashboard")).content.decode()
    assert "<title>1 open · Dashboard · Incident Console</title>" in dashboard


def test_the_dashboard_says_what_the_response_clock_means(as_user, viewer, sev, commander, overdue):
    waiting = Incident.declare(title="Just now", severity=sev[1], by=commander)
    answered = Incident.declare(title="Answered", severity=sev[2], by=commander)
    Incident.objects.filter(pk=answered.pk).update(impact_started_at=timezone.now() - timedelta(minutes=3))
    answered.refresh_from_db()
    answered.acknowledge(by=commander)
    page = as_user(viewer).get(reverse("dashboard")).content.decode()
    due = timezone.localtime(waiting.response_due_at).strftime("%H:%M")
    assert f"ack due {due}" in page
    assert "acknowledged after 3 min" in page
    assert "ack overdue since" in page


def test_every_page_names_the_favicon_and_favicon_ico_leads_to_it(as_user, viewer, client):
    page = as_user(viewer).get(reverse("dashboard")).content.decode()
    assert 'rel="icon"' in page and "favicon" in page
    client.logout()
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith(".svg")
