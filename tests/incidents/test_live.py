"""The incident page's poll: one query and 204 while nothing changed, fragments when it did, 286 once closed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from incidents.models import Incident, Status
from tests.factories import declare_queue_incident, running_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(db, commander):
    return declare_queue_incident(commander, commander=commander)


def poll_url(incident, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("incidents:poll", args=[incident.pk]) + (f"?{query}" if query else "")


def seen(incident) -> dict:
    """What a page showing the incident as it is now sends with its poll."""
    stored = Incident.objects.get(pk=incident.pk)
    return {"rev": stored.revision, "runs": stored.runs_revision}


@pytest.mark.parametrize("role", ["viewer", "responder", "commander", "admin"])
def test_an_unchanged_poll_is_204_after_one_query(client, users, incident, role, settings, django_assert_num_queries):
    settings.AUTH_MEMO_SECONDS = 10  # as deployed: reads reuse the user found a moment ago (accounts/memo.py)
    client.force_login(users[role])
    url = poll_url(incident, **seen(incident), after=0)
    client.get(url)  # the first request of a session finds its user
    with django_assert_num_queries(1) as captured:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response.content == b""
    assert "revision" in captured.captured_queries[0]["sql"]


def test_without_the_remembered_user_the_poll_adds_one_query_to_finding_the_user(client, viewer, incident, settings,
                                                                                 django_assert_num_queries):
    settings.AUTH_MEMO_SECONDS = 0
    client.force_login(viewer)
    url = poll_url(incident, **seen(incident), after=0)
    # the session (unless read through the shared cache), the user, their own and their roles' permissions
    finding = 3 if settings.SESSION_ENGINE.endswith("cached_db") else 4
    with django_assert_num_queries(finding + 1) as captured:
        assert client.get(url).status_code == 204
    assert "revision" in captured.captured_queries[-1]["sql"]


def test_a_changed_poll_returns_only_new_events_and_oob_fragments(client, viewer, incident, commander):
    client.force_login(viewer)
    page = client.get(incident.get_absolute_url()).content.decode()
    after = page.split('id="poll-after" name="after" value="')[1].split('"')[0]
    before = seen(incident)
    revision = before["rev"]
    incident.checklist.first().tick(by=commander)
    response = client.get(poll_url(incident, **before, after=after), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert f'data-revision="{revision + 1}"' in body  # the new poller
    for part in ('id="incident-header"', 'id="checklists"', 'id="incident-people"'):
        assert part in body
    assert body.count('hx-swap-oob="true"') >= 4
    assert 'hx-swap-oob="afterbegin:#timeline-list"' in body
    # The new events only: the tick, and the acknowledgement it counts as (nobody had acknowledged).
    assert body.count('id="event-') == 2 and "Done: Check the queue depth" in body
    assert "1 / 2" in body
    assert 'id="runs"' not in body  # no run changed: the runs panel stays as it is


def test_the_poll_keeps_the_timeline_filter(client, viewer, incident, commander):
    client.force_login(viewer)
    before = seen(incident)
    incident.checklist.first().tick(by=commander)
    incident.add_note("only this", by=commander)
    last = incident.timeline.order_by("pk").first().pk
    body = client.get(poll_url(incident, **before, after=last, kind="note")).content.decode()
    assert body.count('id="event-') == 1 and "only this" in body


def test_polling_stops_when_the_incident_closes(client, viewer, incident, commander):
    client.force_login(viewer)
    from incidents.models import Postmortem

    Postmortem.waive(incident, by=commander, reason="a drill")  # SEV1 needs a postmortem (or a waiver) to close
    incident.transition(Status.RESOLVED, by=commander)
    before = seen(incident)
    assert client.get(poll_url(incident, **before)).status_code == 204
    Incident.objects.get(pk=incident.pk).transition(Status.CLOSED, by=commander)
    response = client.get(poll_url(incident, **before))
    assert response.status_code == 286
    assert "hx-trigger" not in response.content.decode().split('id="poller"')[1].split(">")[0]
    assert client.get(poll_url(incident, **seen(incident))).status_code == 286
    page = client.get(incident.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 1s' not in page.split('id="poller"')[1].split(">")[0]


def test_the_page_polls_every_second_while_open(client, viewer, incident):
    client.force_login(viewer)
    page = client.get(incident.get_absolute_url()).content.decode()
    poller = page.split('id="poller"')[1].split(">")[0]
    versions = seen(incident)
    assert 'hx-trigger="every 1s"' in poller and f"?rev={versions['rev']}&amp;runs={versions['runs']}&amp;" in poller
    assert "details[open]" in poller.split('data-hold-while="')[1]  # held while a skip reason is being typed


def test_a_user_without_the_view_permission_gets_403(client, incident):
    nobody = User.objects.create_user("nobody", password="pw")
    client.force_login(nobody)
    assert client.get(poll_url(incident, rev=1)).status_code == 403


def test_an_unknown_incident_is_404(client, viewer, incident):
    client.force_login(viewer)
    assert client.get(reverse("incidents:poll", args=[incident.pk + 100]) + "?rev=1").status_code == 404


def test_a_bad_revision_is_treated_as_changed(client, viewer, incident):
    client.force_login(viewer)
    response = client.get(poll_url(incident, rev="nonsense", after="x"))
    assert response.status_code == 200 and 'id="poller"' in response.content.decode()


def test_anonymous_polls_are_sent_to_log_in(client, incident):
    response = client.get(poll_url(incident, rev=1))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- a command printing moves the runs panel only ----------------------------------------------------

def test_output_moves_the_runs_panel_and_not_the_page(client, viewer, commander, settings, django_assert_num_queries):
    settings.AUTH_MEMO_SECONDS = 10
    run = running_command(commander)
    incident = run.incident
    client.force_login(viewer)
    before = seen(incident)
    client.get(poll_url(incident, **before, after=0))  # finds the user
    for n in range(5):  # a command printing, each line flushed between two polls
        run.append_output(f"line {n}\n")
        with django_assert_num_queries(2) as captured:  # the versions, then the runs panel's runs
            response = client.get(poll_url(incident, **before, after=0), HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code == 200 and f"line {n}" in body
        assert 'id="runs"' in body and 'hx-swap-oob="true"' in body
        for part in ('id="incident-header"', 'id="checklists"', 'id="incident-people"', "timeline-list"):
            assert part not in body
        assert "revision" in captured.captured_queries[0]["sql"]
        now = seen(incident)
        assert now["rev"] == before["rev"] and now["runs"] > before["runs"]
        assert f'data-revision="{before["rev"]}"' in body and f'data-runs="{now["runs"]}"' in body
        before = now
        with django_assert_num_queries(1):  # and the next poll, with nothing new printed, is 204 again
            assert client.get(poll_url(incident, **before, after=0)).status_code == 204


def test_a_run_changing_state_moves_the_page_and_the_panel(client, viewer, commander):
    run = running_command(commander)
    client.force_login(viewer)
    before = seen(run.incident)
    run.finish(state="succeeded", exit_code=0, output="done\n", truncated=False)
    body = client.get(poll_url(run.incident, **before, after=0), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="incident-header"' in body and f"Run #{run.pk} succeeded" in body  # its timeline event
    assert 'id="runs"' in body and "Succeeded" in body


def test_while_a_form_is_half_filled_only_the_runs_panel_comes(client, viewer, commander):
    run = running_command(commander)
    incident = run.incident
    client.force_login(viewer)
    before = seen(incident)
    incident.add_note("someone else wrote", by=commander)
    assert client.get(poll_url(incident, **before, after=0, hold=1)).status_code == 204  # nothing it may show
    run.append_output("printed\n")
    body = client.get(poll_url(incident, **before, after=0, hold=1)).content.decode()
    assert "printed" in body and "someone else wrote" not in body and 'id="checklists"' not in body
    assert f'data-revision="{before["rev"]}"' in body  # the page's own change still waits for the next poll
    body = client.get(poll_url(incident, **before, after=0)).content.decode()
    assert "someone else wrote" in body


def test_on_the_page_the_panel_waits_for_the_poll_and_polls_itself_once_closed(client, viewer, commander):
    run = running_command(commander)
    incident = Incident.objects.get(pk=run.incident_id)
    client.force_login(viewer)
    panel = client.get(incident.get_absolute_url()).content.decode().split('id="runs"')[1].split(">")[0]
    assert "hx-trigger" not in panel  # the page's poll brings it
    before = seen(incident)
    incident.transition(Status.RESOLVED, by=commander)
    Incident.objects.get(pk=incident.pk).transition(Status.CLOSED, by=commander)
    response = client.get(poll_url(incident, **before, after=0))
    assert response.status_code == 286
    panel = response.content.decode().split('id="runs"')[1].split(">")[0]
    assert 'hx-trigger="every 1s"' in panel  # the run still prints: the panel now asks for itself
