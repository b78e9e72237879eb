"""The incident page's "next page" panel: part of the live poll, constant queries, page now and jump forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import paging
from incidents.models import Escalation, Incident
from tests.factories import make_severities
from tests.paging_factories import make_person, make_policy

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def incident(commander):
    with time_machine.travel(START, tick=False):
        sev = make_severities()
        make_policy(sev[0], [(5, [make_person("Ana")]), (10, [make_person("Ben")]), (None, [make_person("Cleo")])])
        yield Incident.declare(title="Orders stuck", severity=sev[0], by=commander)


def shown(incident) -> dict:
    """The versions a page showing the incident as it is now sends with its poll."""
    stored = Incident.objects.get(pk=incident.pk)
    return {"rev": stored.revision, "runs": stored.runs_revision}


def test_the_panel_shows_who_is_paged_next_and_when_as_a_timestamp(client, commander, incident):
    client.force_login(commander)
    html = client.get(incident.get_absolute_url()).content.decode()
    panel = html.split('id="paging"')[1].split("</section>")[0]
    assert 'datetime="2026-03-02T03:05:00+00:00"' in panel and "tier 2" in panel and "Ben" in panel
    assert "Ana" in panel and 'data-state="pending"' in panel
    assert "Page now" in panel and 'name="tier" value="2"' in panel and 'name="tier" value="3"' in panel


def test_a_tier_firing_reaches_the_poll_as_an_out_of_band_panel(client, viewer, incident):
    client.force_login(viewer)
    seen = shown(incident)
    poll = reverse("incidents:poll", args=[incident.pk])
    assert client.get(poll, seen).status_code == 204
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        paging.tick()
    response = client.get(poll, seen, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="paging" class="card paging-panel"' in html
    assert 'hx-swap-oob="true"' in html.split('id="paging"')[1][:200]
    assert "Ben" in html and 'datetime="2026-03-02T03:15:00+00:00"' in html


def test_the_unchanged_poll_is_still_one_query(client, viewer, incident, settings, django_assert_num_queries):
    settings.AUTH_MEMO_SECONDS = 10  # as deployed (see test_live)
    client.force_login(viewer)
    seen = shown(incident)
    url = reverse("incidents:poll", args=[incident.pk])
    client.get(url, seen)
    with django_assert_num_queries(1):
        assert client.get(url, seen, HTTP_HX_REQUEST="true").status_code == 204


def test_the_page_runs_a_constant_number_of_queries_whatever_the_paging_history(client, commander, incident):
    client.force_login(commander)
    url = incident.get_absolute_url()

    def count():
        from django.core.cache import caches
        caches["pages"].clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    client.get(url)  # a session's first read finds the user; later ones reuse it
    small = count()
    for i in range(15):
        paging.page_now(incident, make_person(f"Extra {i}"), by=commander)
    assert count() == small


def test_page_now_from_the_panel_pages_and_says_so(client, responder, incident):
    client.force_login(responder)
    dev = make_person("Dev")
    position = Escalation.objects.get(incident=incident).position
    response = client.post(reverse("incidents:page_contact", args=[incident.pk]),
                           {"contact": dev.pk, "position": position}, follow=True)
    assert "Paging Dev (email)." in response.content.decode()
    assert incident.pages.filter(name="Dev", tier=-1).exists()


def test_a_viewer_cannot_page_and_a_responder_cannot_jump(client, viewer, responder, incident):
    client.force_login(viewer)
    assert client.post(reverse("incidents:page_contact", args=[incident.pk]), {"contact": 1}).status_code == 403
    client.force_login(responder)
    assert client.post(reverse("incidents:escalation_jump", args=[incident.pk]), {"tier": 2}).status_code == 403


def test_a_stale_jump_click_does_nothing_and_says_why(client, commander, responder, incident):
    client.force_login(commander)
    position = Escalation.objects.get(incident=incident).position
    Incident.objects.get(pk=incident.pk).acknowledge(by=responder)
    response = client.post(reverse("incidents:escalation_jump", args=[incident.pk]),
                           {"tier": 2, "position": position}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Nothing was paged: the escalation stopped" in html and "acknowledged by rosa" in html
    assert not incident.pages.filter(name="Ben").exists()


@pytest.mark.parametrize("data", [{"tier": "x"}, {"tier": "0"}, {"tier": "99"}, {}])
def test_a_jump_to_no_such_tier_is_refused_with_a_message(client, commander, incident, data):
    client.force_login(commander)
    response = client.post(reverse("incidents:escalation_jump", args=[incident.pk]), data, follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and ("Choose a tier to jump to." in html or "There is no tier 99" in html)
    assert incident.pages.count() == 1


@pytest.mark.parametrize("contact", ["", "abc", "99999"])
def test_page_now_without_a_real_contact_is_refused(client, responder, incident, contact):
    client.force_login(responder)
    response = client.post(reverse("incidents:page_contact", args=[incident.pk]), {"contact": contact}, follow=True)
    assert "Choose someone to page." in response.content.decode() and incident.pages.count() == 1
