"""The page cache (incidents/pagecache.py): served again while unchanged, never across a change, a person or a
token; the runs panel kept apart, so a command printing does not re-render the page around it."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse

from incidents import pagecache
from incidents.pagecache import csrf_placeholder
from tests.conftest import https_client
from tests.factories import declare_queue_incident, running_command

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ANY_TOKEN = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[A-Za-z0-9]{64}')


@pytest.fixture(autouse=True)
def _as_deployed(settings):
    settings.PAGE_CACHE_SECONDS = 90
    settings.AUTH_MEMO_SECONDS = 10


@pytest.fixture
def incident(commander):
    return declare_queue_incident(commander, commander=commander)


def csrf_client(user):
    """A browser's client: HTTPS, CSRF checked, and the Origin header browsers send with a form."""
    client = https_client(enforce_csrf_checks=True, headers={"Origin": "https://testserver"})
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["dashboard", "incident"])
def test_a_kept_page_is_served_from_one_query_and_reads_the_same(client, commander, incident, url,
                                                                 django_assert_num_queries):
    path = reverse("dashboard") if url == "dashboard" else incident.get_absolute_url()
    client.force_login(commander)
    first = client.get(path).content.decode()
    with django_assert_num_queries(1):  # the fingerprint or the revision
        second = client.get(path).content.decode()
    assert ANY_TOKEN.sub(r"\1", first) == ANY_TOKEN.sub(r"\1", second)
    assert "Orders stuck" in second and csrf_placeholder() not in second


def test_a_change_shows_on_the_next_read(client, commander, incident):
    client.force_login(commander)
    assert "0 / 2" in client.get(incident.get_absolute_url()).content.decode()
    assert "0 / 2" in client.get(reverse("dashboard")).content.decode()
    incident.checklist.first().tick(by=commander)
    assert "1 / 2" in client.get(incident.get_absolute_url()).content.decode()
    assert "1 / 2" in client.get(reverse("dashboard")).content.decode()


def test_each_reader_gets_their_own_page(commander, commander2, viewer, incident):
    pages = {user.username: csrf_client(user).get(incident.get_absolute_url()).content.decode()
             for user in (commander, commander2, viewer)}
    for name, page in pages.items():
        assert f'<span class="muted">{name}</span>' in page  # the header names the reader, not the first one
    assert "Move to" in pages["carl"] and "Move to" not in pages["vera"]  # buttons follow the reader's role


def test_forms_on_a_kept_page_carry_the_readers_own_token(commander, commander2, incident):
    csrf_client(commander).get(incident.get_absolute_url())  # rendered and kept for cora
    carl = csrf_client(commander2)
    carl.get(incident.get_absolute_url())
    page = carl.get(incident.get_absolute_url()).content.decode()  # carl's kept copy
    item = incident.checklist.first()
    token = next(t for t in TOKEN.findall(page))
    assert TOKEN.findall(page) and set(TOKEN.findall(page)) == {token}
    url = reverse("incidents:item", args=[incident.pk, item.pk])
    response = carl.post(url, {"action": "tick", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == "done" and item.changed_by == commander2


def test_a_token_from_someone_elses_page_is_refused(commander, commander2, incident):
    page = csrf_client(commander).get(incident.get_absolute_url()).content.decode()
    carl = csrf_client(commander2)
    carl.get(incident.get_absolute_url())
    item = incident.checklist.first()
    response = carl.post(reverse("incidents:item", args=[incident.pk, item.pk]),
                         {"action": "tick", "csrfmiddlewaretoken": TOKEN.search(page).group(1)})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.state == "open"


def test_a_page_with_a_message_is_rendered_for_that_request_only(client, commander, incident):
    client.force_login(commander)
    client.get(incident.get_absolute_url())  # kept
    response = client.post(reverse("incidents:transition", args=[incident.pk]),
                           {"to": "investigating", "revision": 1_000}, follow=True)
    assert "Someone else changed this incident" in response.content.decode()  # the stale form's message
    again = client.get(incident.get_absolute_url()).content.decode()
    assert 'class="message message-error"' not in again  # shown once, not kept


def test_ages_are_rendered_again_each_minute(client, commander, incident):
    client.force_login(commander)
    declared = incident.declared_at.timestamp()
    with time_machine.travel(declared + 61, tick=False):
        assert ">1 min<" in client.get(reverse("dashboard")).content.decode()
        assert ">1 min<" in client.get(reverse("dashboard")).content.decode()
    with time_machine.travel(declared + 185, tick=False):
        assert ">3 min<" in client.get(reverse("dashboard")).content.decode()


def test_kept_pages_off_renders_every_time(client, commander, incident, settings, django_assert_max_num_queries):
    settings.PAGE_CACHE_SECONDS = 0
    client.force_login(commander)
    client.get(incident.get_absolute_url())
    with pytest.raises(pytest.fail.Exception), django_assert_max_num_queries(1):
        client.get(incident.get_absolute_url())


def test_while_a_command_prints_the_page_is_served_from_the_cache_with_the_latest_output(
        client, commander, viewer, django_assert_num_queries):
    run = running_command(commander)
    client.force_login(viewer)
    url = run.incident.get_absolute_url()
    client.get(url)  # rendered and kept
    pagecache.stats.clear()
    for n in range(10):
        run.append_output(f"line {n}\n")
        with django_assert_num_queries(2):  # the versions, and the runs of the panel rendered anew
            page = client.get(url).content.decode()
        assert f"line {n}" in page.split('id="runs"')[1]
        assert "Printing" in page and csrf_placeholder() not in page
    assert pagecache.stats["incident", "hit"] == 10 and pagecache.stats["incident", "miss"] == 0
    assert pagecache.stats["incident:runs_panel", "miss"] == 10
    with django_assert_num_queries(1):  # nothing printed since: the panel is kept too
        client.get(url)
    assert pagecache.stats["incident:runs_panel", "hit"] == 1
    run.finish(state="succeeded", exit_code=0, output="all done\n", truncated=False)
    page = client.get(url).content.decode()  # a change of state moves the page itself
    assert pagecache.stats["incident", "miss"] == 1 and f"Run #{run.pk} succeeded" in page


def _poll(client, incident, revision, after, runs):
    url = reverse("incidents:poll", args=[incident.pk]) + f"?rev={revision}&after={after}&runs={runs}"
    return client.get(url, HTTP_HX_REQUEST="true")


def test_people_watching_one_change_share_its_render_each_with_their_own_token(
        commander, commander2, viewer, incident, django_assert_num_queries):
    from incidents.models import Incident

    cora, carl = csrf_client(commander), csrf_client(commander2)
    vera = csrf_client(viewer)
    revision, runs = Incident.objects.values_list("revision", "runs_revision").get(pk=incident.pk)
    for client in (cora, carl, vera):
        client.get(incident.get_absolute_url())  # each has a session, a token and their user remembered
    incident.checklist.first().tick(by=commander)
    first = _poll(cora, incident, revision, 0, runs).content.decode()
    with django_assert_num_queries(1):  # the revision: the fragments are cora's render
        second = _poll(carl, incident, revision, 0, runs).content.decode()
    assert "1 / 2" in second and "Move to" in second
    assert ANY_TOKEN.sub(r"\1", first) == ANY_TOKEN.sub(r"\1", second)
    watching = _poll(vera, incident, revision, 0, runs).content.decode()  # another role: its own render
    assert "1 / 2" in watching and "Move to" not in watching
    token = TOKEN.search(second).group(1)
    assert set(TOKEN.findall(second)) == {token} and token not in TOKEN.findall(first)
    item = incident.checklist.last()
    assert carl.post(reverse("incidents:item", args=[incident.pk, item.pk]),
                     {"action": "tick", "csrfmiddlewaretoken": token}).status_code == 302  # carl's own token


def test_a_shared_render_is_never_served_for_another_revision_or_other_events(commander, commander2, incident):
    from incidents.models import Incident

    cora, carl = csrf_client(commander), csrf_client(commander2)
    revision, runs = Incident.objects.values_list("revision", "runs_revision").get(pk=incident.pk)
    incident.checklist.first().tick(by=commander)
    assert "1 / 2" in _poll(cora, incident, revision, 0, runs).content.decode()
    incident.checklist.last().tick(by=commander)
    assert "2 / 2" in _poll(carl, incident, revision, 0, runs).content.decode()
    newest = max(incident.timeline.values_list("pk", flat=True))
    assert 'id="event-' not in _poll(carl, incident, revision, newest, runs).content.decode()  # nothing after it


def test_a_poll_that_brings_the_runs_panel_is_rendered_for_its_reader(commander, commander2, incident):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Incident

    cora, carl = csrf_client(commander), csrf_client(commander2)
    revision, runs = Incident.objects.values_list("revision", "runs_revision").get(pk=incident.pk)
    for client in (cora, carl):
        client.get(incident.get_absolute_url())
    incident.checklist.first().tick(by=commander)
    assert 'id="runs"' in _poll(cora, incident, revision, 0, runs - 1).content.decode()
    with CaptureQueriesContext(connection) as carls:  # the panel shows Cancel to whoever asked: not cora's copy
        assert 'id="runs"' in _poll(carl, incident, revision, 0, runs - 1).content.decode()
    assert len(carls) > 1
