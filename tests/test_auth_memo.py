"""accounts/memo.py: reads reuse the user found for a session a moment ago; changes always look again."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from accounts import memo as auth
from accounts.roles import COMMANDER
from incidents.models import Incident
from tests.conftest import https_client
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _as_deployed(settings):
    settings.AUTH_MEMO_SECONDS = 10
    settings.PAGE_CACHE_SECONDS = 0  # every page rendered, so what it shows follows the user found


@pytest.fixture
def incident(commander):
    runbook = make_runbook("Queue backlog", steps=[("triage", "Check the queue depth", [])])
    return Incident.declare(title="Orders stuck", severity=make_severities()[0], by=commander, commander=commander,
                            runbooks=[runbook])


@pytest.fixture
def clock(monkeypatch):
    """The memo's clock, moved by hand."""
    now = [1_000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    return now


def signed_in(user):
    client = https_client()
    client.force_login(user)
    return client


def test_a_read_reuses_the_user_found_a_moment_ago(commander, incident, django_assert_num_queries):
    client = signed_in(commander)
    url = reverse("incidents:poll", args=[incident.pk]) + f"?rev={incident.revision}&runs={incident.runs_revision}"
    client.get(url)
    with django_assert_num_queries(1):  # the revision only: no session, user or permission query
        response = client.get(url)
    assert response.status_code == 204
    assert "Cookie" in response["Vary"]  # a shared cache must not answer another person with it


def test_a_change_looks_again_and_a_deactivated_user_changes_nothing(commander, incident, clock):
    client = signed_in(commander)
    assert client.get(incident.get_absolute_url()).status_code == 200
    User.objects.filter(pk=commander.pk).update(is_active=False)  # as another process would: no signal here
    assert client.get(incident.get_absolute_url()).status_code == 200  # reads: remembered for a few seconds
    item = incident.checklist.first()
    response = client.post(reverse("incidents:item", args=[incident.pk, item.pk]), {"action": "tick"})
    assert response.status_code == 302 and reverse("login") in response["Location"]
    item.refresh_from_db()
    assert item.state == "open"
    clock[0] += 10.5
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_role_taken_away_shows_at_once_in_the_process_that_took_it(commander, incident):
    client = signed_in(commander)
    assert "Move to" in client.get(incident.get_absolute_url()).content.decode()
    commander.groups.remove(Group.objects.get(name=COMMANDER))
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 403


def test_a_session_logged_out_is_not_remembered(commander, incident):
    client = signed_in(commander)
    client.get(incident.get_absolute_url())
    cookie = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    replay = https_client()
    replay.cookies["sessionid"] = cookie
    response = replay.get(incident.get_absolute_url())
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_off_finds_the_user_every_time(commander, incident, settings):
    settings.AUTH_MEMO_SECONDS = 0
    client = signed_in(commander)
    client.get(incident.get_absolute_url())
    User.objects.filter(pk=commander.pk).update(is_active=False)
    assert client.get(incident.get_absolute_url()).status_code == 302


def test_the_memo_forgets_the_least_recently_seen_session_first():
    memo = auth._Memo(size=2)
    for key in ("a", "b"):
        memo.put(key, User(pk=1, username=key), 10)
    assert memo.get("a").username == "a"  # "a" is now the most recently seen
    memo.put("c", User(pk=2, username="c"), 10)
    assert memo.get("b") is None and memo.get("a") and memo.get("c")
