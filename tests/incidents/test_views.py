"""The incident pages as each role uses them: declare, dashboard, incident page, lists, bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import EventKind, Incident, Status, TimelineEvent
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev(db):
    return make_severities()


@pytest.fixture
def runbook(db):
    return make_runbook("Checkout latency high", alerts=["CheckoutLatencyHigh"], patterns=["upstream timed out"],
                        steps=[("detection", "Confirm p99 latency", []), ("investigation", "List the pods", []),
                               ("mitigation", "Scale out the deployment", [])])


@pytest.fixture
def incident(sev, runbook, commander):
    return Incident.declare(title="Checkout is slow", severity=sev[1], by=commander, commander=commander,
                            runbooks=[runbook])


def url(name, *args):
    return reverse(f"incidents:{name}", args=args)


# --- declare ---------------------------------------------------------------------------------------

def test_the_declare_page_shows_the_severity_matrix_beside_the_choice(as_user, responder, sev):
    page = as_user(responder).get(url("declare")).content.decode()
    assert page.count('type="radio" name="severity"') == 4
    assert "SEV1 description" in page and "SEV1 example" in page and "within 15 min" in page


def test_a_commander_declares_with_a_runbook_and_becomes_commander(as_user, commander, sev, runbook):
    response = as_user(commander).post(url("declare"), {
        "title": "Checkout 502s", "severity": sev[0].pk, "symptoms": "upstream timed out", "runbooks": [runbook.pk],
    })
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    assert incident.commander == commander and incident.summary == "upstream timed out"
    assert incident.checklist.count() == 3
    # Declaring in the browser is the declarer's acknowledgement: they are on it.
    assert list(incident.timeline.values_list("kind", flat=True)) == ["declared", "role", "runbook", "acknowledged"]
    assert incident.acknowledged_by == commander and incident.acknowledged_at == incident.declared_at


def test_a_responder_declares_without_becoming_commander(as_user, responder, sev):
    as_user(responder).post(url("declare"), {"title": "Disk full", "severity": sev[2].pk})
    incident = Incident.objects.get()
    assert incident.commander is None and incident.declared_by == responder


@pytest.mark.parametrize(("data", "message"), [
    ({"title": "", "severity": "SEV"}, "Paste the error or alert, or say what you see"),
    ({"title": "   ", "severity": "SEV"}, "Paste the error or alert, or say what you see"),
    ({"title": "", "symptoms": "\u2800\u2800", "severity": "SEV"}, "Give the incident a title."),
    ({"title": "x" * 201, "severity": "SEV"}, "Keep the title under 200 characters."),
    ({"title": "Broken", "severity": "999999"}, "That severity is not in the matrix"),
    ({"title": "Broken", "severity": "not-a-number"}, "That severity is not in the matrix"),
    ({"title": "Broken"}, "Choose a severity."),
    ({"title": "Broken", "severity": "SEV", "runbooks": ["999999"]}, "One of the runbooks no longer exists."),
    ({"title": "Broken", "severity": "SEV", "symptoms": "x" * 10_001}, "Keep the symptoms under 10,000"),
])
def test_bad_declarations_say_what_is_wrong_and_store_nothing(as_user, commander, sev, data, message):
    if data.get("severity") == "SEV":
        data["severity"] = sev[0].pk
    response = as_user(commander).post(url("declare"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Incident.objects.exists() and not TimelineEvent.objects.exists()


def test_suggestions_appear_for_a_pasted_error(as_user, responder, runbook):
    client = as_user(responder)
    response = client.get(url("declare_suggest"), {"symptoms": "nginx: upstream timed out (110)"},
                          HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'value="{runbook.pk}"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_suggestions_keep_the_runbooks_already_chosen(as_user, responder, runbook):
    other = make_runbook("Disk full", steps=[])
    response = as_user(responder).get(url("declare_suggest"), {"symptoms": "upstream timed out",
                                                               "runbooks": [other.pk]}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert f'value="{other.pk}" checked' in page and f'value="{runbook.pk}"' in page


def test_without_javascript_the_suggest_button_rerenders_the_form(as_user, commander, sev, runbook):
    response = as_user(commander).post(url("declare"), {"title": "Slow", "symptoms": "upstream timed out",
                                                        "suggest": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and not Incident.objects.exists()
    assert f'value="{runbook.pk}"' in page and 'value="Slow"' in page
    assert "Choose a severity." not in page  # asking for suggestions is not a failed declaration


def test_a_runbook_link_preselects_that_runbook(as_user, responder, sev, runbook):
    page = as_user(responder).get(url("declare") + f"?runbook={runbook.slug}").content.decode()
    assert f'value="{runbook.pk}" checked' in page


def test_an_unknown_runbook_link_says_so(as_user, responder, sev):
    page = as_user(responder).get(url("declare") + "?runbook=nope", follow=True).content.decode()
    assert "There is no runbook “nope”." in page


# --- dashboard -------------------------------------------------------------------------------------

def test_the_dashboard_orders_open_incidents_by_severity_then_age(as_user, viewer, sev, commander):
    minor = Incident.declare(title="Minor thing", severity=sev[2], by=commander)
    major = Incident.declare(title="Major thing", severity=sev[0], by=commander)
    done = Incident.declare(title="Old thing", severity=sev[0], by=commander)
    done.transition(Status.RESOLVED, by=commander)
    page = as_user(viewer).get(reverse("dashboard")).content.decode()
    assert page.index("Major thing") < page.index("Minor thing") < page.index("Old thing")
    assert "Resolved in the last 7 days" in page
    assert f'id="board-{done.pk}"' not in page and f'id="board-{major.pk}"' in page and str(minor.pk) in page


def test_the_dashboard_shows_checklist_progress_and_the_latest_event(as_user, viewer, incident, commander):
    incident.checklist.first().tick(by=commander)
    incident.add_note("Rolled back the canary", by=commander)
    page = as_user(viewer).get(reverse("dashboard")).content.decode()
    assert "1 / 3" in page and "Rolled back the canary" in page
    assert 'class="sev sev-1"' in page


def test_the_dashboard_poll_answers_204_until_something_changes(as_user, viewer, incident, commander):
    client = as_user(viewer)
    page = client.get(reverse("dashboard")).content.decode()
    fingerprint = page.split("?fp=")[1].split('"')[0]
    assert client.get(url("dashboard_poll"), {"fp": fingerprint}).status_code == 204
    incident.add_note("still slow", by=commander)
    response = client.get(url("dashboard_poll"), {"fp": fingerprint}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "still slow" in response.content.decode()
    assert "<html" not in response.content.decode()


def test_an_overdue_acknowledgement_is_red_on_the_dashboard(as_user, viewer, sev, commander):
    from datetime import timedelta

    from django.utils import timezone

    late = Incident.declare(title="Nobody looked", severity=sev[0], by=commander)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Incident.objects.filter(pk=late.pk).update(declared_at=an_hour_ago, impact_started_at=an_hour_ago)
    page = as_user(viewer).get(reverse("dashboard")).content.decode()
    assert 'class="clock breached"' in page and "overdue since" in page


# --- incident page ---------------------------------------------------------------------------------

def test_the_incident_page_shows_header_checklist_and_timeline(as_user, viewer, incident):
    page = as_user(viewer).get(incident.get_absolute_url()).content.decode()
    assert "Checkout is slow" in page and "SEV2" in page and "Declared" in page
    assert "Confirm p99 latency" in page and "Detection" in page and "Investigation" in page
    assert "Attached runbook" in page
    assert "{#" not in page and "#}" not in page  # no template comment leaks onto the page
    # a viewer gets no buttons
    assert "Move to" not in page and 'value="tick"' not in page and "Add a note" not in page


def test_a_commander_sees_only_the_allowed_transitions(as_user, commander, incident):
    page = as_user(commander).get(incident.get_absolute_url()).content.decode()
    offered = {v for v in Status.values if f'name="to" value="{v}"' in page}
    assert offered == {"investigating", "identified", "mitigated", "resolved"}


def test_ticking_skipping_and_undoing_from_the_page(as_user, responder, incident):
    client = as_user(responder)
    first, second = incident.checklist.order_by("order")[:2]
    assert client.post(url("item", incident.pk, first.pk), {"action": "tick"}).status_code == 302
    client.post(url("item", incident.pk, second.pk), {"action": "skip", "reason": "dashboard down"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == "done" and first.changed_by == responder
    assert second.state == "skipped" and second.skip_reason == "dashboard down"
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Done by rosa" in page and "dashboard down" in page
    client.post(url("item", incident.pk, first.pk), {"action": "reopen"})
    first.refresh_from_db()
    assert first.state == "open"


def test_skipping_without_a_reason_is_refused(as_user, responder, incident):
    item = incident.checklist.first()
    response = as_user(responder).post(url("item", incident.pk, item.pk), {"action": "skip", "reason": " "},
                                       follow=True)
    assert "Say why the step is skipped." in response.content.decode()
    item.refresh_from_db()
    assert item.state == "open"


def test_a_tick_on_an_item_of_another_incident_is_404(as_user, responder, incident, sev, runbook, commander):
    other = Incident.declare(title="Other", severity=sev[0], by=commander, runbooks=[runbook])
    item = other.checklist.first()
    response = as_user(responder).post(url("item", incident.pk, item.pk), {"action": "tick"})
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.state == "open"


def test_ticking_twice_tells_the_second_person(as_user, responder, incident, commander):
    item = incident.checklist.first()
    item.tick(by=commander)
    response = as_user(responder).post(url("item", incident.pk, item.pk), {"action": "tick"}, follow=True)
    assert "is already done by Cora Commander" in response.content.decode()
    assert TimelineEvent.objects.filter(kind=EventKind.CHECKLIST).count() == 1


def test_status_change_stamps_the_time_and_redirects(as_user, commander, incident):
    response = as_user(commander).post(url("transition", incident.pk),
                                       {"to": "identified", "revision": incident.revision})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "identified" and incident.identified_at and incident.acknowledged_at


def test_a_transition_not_allowed_is_refused(as_user, commander, incident):
    incident.transition(Status.RESOLVED, by=commander)
    incident.refresh_from_db()
    response = as_user(commander).post(url("transition", incident.pk),
                                       {"to": "identified", "revision": incident.revision}, follow=True)
    assert "An incident that is resolved cannot become Identified." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_an_unknown_status_is_refused(as_user, commander, incident):
    response = as_user(commander).post(url("transition", incident.pk),
                                       {"to": "exploded", "revision": incident.revision}, follow=True)
    assert "That is not a status." in response.content.decode()


@pytest.mark.parametrize("name", ["transition", "severity", "role"])
def test_a_stale_form_changes_nothing(as_user, commander, commander2, incident, sev, name):
    stale = incident.revision
    incident.add_note("someone else was quicker", by=commander2)
    data = {"transition": {"to": "identified"}, "severity": {"severity": sev[0].pk},
            "role": {"role": "scribe", "user": commander2.pk}}[name]
    response = as_user(commander).post(url(name, incident.pk), {**data, "revision": stale}, follow=True)
    assert "Someone else changed this incident" in response.content.decode()
    after = Incident.objects.get(pk=incident.pk)
    assert (after.status, after.severity_id, after.scribe_id) == ("declared", sev[1].pk, None)
    assert after.revision == stale + 1


def test_roles_severity_and_attachments_by_the_commander(as_user, commander, commander2, incident, sev):
    client = as_user(commander)
    client.post(url("role", incident.pk), {"role": "communications_lead", "user": commander2.pk,
                                           "revision": incident.revision})
    incident.refresh_from_db()
    client.post(url("severity", incident.pk), {"severity": sev[0].pk, "revision": incident.revision})
    incident.refresh_from_db()
    extra = make_runbook("Disk full", steps=[("mitigation", "Free space", [])])
    client.post(url("attach", incident.pk), {"runbook": extra.pk, "revision": incident.revision})
    incident.refresh_from_db()
    assert incident.communications_lead == commander2 and incident.severity == sev[0]
    assert incident.runbooks.count() == 2 and incident.checklist.count() == 4


def test_an_unknown_severity_change_is_refused(as_user, commander, incident):
    response = as_user(commander).post(url("severity", incident.pk), {"severity": "999", "revision": 1},
                                       follow=True)
    assert "That severity is not in the matrix." in response.content.decode()


def test_notes_are_added_and_empty_ones_refused(as_user, responder, incident):
    client = as_user(responder)
    client.post(url("note", incident.pk), {"text": "Error rate falling"})
    response = client.post(url("note", incident.pk), {"text": "   "}, follow=True)
    assert "A note needs some text." in response.content.decode()
    assert list(incident.timeline.filter(kind="note").values_list("message", flat=True)) == ["Error rate falling"]


def test_the_timeline_filters_by_kind(as_user, viewer, incident, commander):
    incident.add_note("a note to find", by=commander)
    page = as_user(viewer).get(incident.get_absolute_url() + "?kind=note").content.decode()
    timeline = page.split('id="timeline-list"')[1]
    assert "a note to find" in timeline and "Attached runbook" not in timeline


def test_htmx_posts_answer_with_live_fragments(as_user, responder, incident):
    item = incident.checklist.first()
    last = incident.timeline.order_by("-pk").first().pk
    response = as_user(responder).post(url("item", incident.pk, item.pk), {"action": "tick", "after": last},
                                       HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    assert 'id="poller"' in page and 'hx-swap-oob="true"' in page
    assert 'hx-swap-oob="afterbegin:#timeline-list"' in page and "Done: Confirm p99 latency" in page
    # Only the new events: the tick, and the acknowledgement it counted as (nobody had acknowledged yet).
    assert page.count('id="event-') == 2 and "their tick counts as one" in page


def test_htmx_errors_come_back_as_a_message(as_user, responder, incident, commander):
    item = incident.checklist.first()
    item.tick(by=commander)
    response = as_user(responder).post(url("item", incident.pk, item.pk), {"action": "tick"},
                                       HTTP_HX_REQUEST="true")
    assert "is already done" in response.content.decode()


# --- lists -----------------------------------------------------------------------------------------

def test_the_list_filters_by_status_and_severity(as_user, viewer, sev, commander):
    Incident.declare(title="Alpha", severity=sev[0], by=commander)
    beta = Incident.declare(title="Beta", severity=sev[2], by=commander)
    beta.transition(Status.RESOLVED, by=commander)
    client = as_user(viewer)
    assert "Beta" not in client.get(url("list"), {"status": "open"}).content.decode()
    page = client.get(url("list"), {"severity": sev[2].pk}).content.decode()
    assert "Beta" in page and "Alpha" not in page
    page = client.get(url("list"), {"status": "bogus", "severity": "SEV9"}).content.decode()
    assert "is not a status" in page and "is not a severity" in page and "Alpha" in page


def test_the_list_is_paginated(as_user, viewer, sev, commander):
    Incident.objects.bulk_create([Incident(title=f"Bulk {n}", severity=sev[3]) for n in range(60)])
    page = as_user(viewer).get(url("list")).content.decode()
    assert "Page 1 of 2" in page and page.count("Bulk ") == 50


def test_postmortems_list_durations_and_whether_a_postmortem_is_required(as_user, viewer, incident, commander):
    incident.transition(Status.MITIGATED, by=commander)
    incident.transition(Status.RESOLVED, by=commander)
    page = as_user(viewer).get(url("postmortems")).content.decode()
    assert "Checkout is slow" in page and "0 s" in page and "Measured from impact started" in page
    assert ">required</span>" in page  # SEV2: one of the two most severe levels
    from incidents.models import Postmortem

    Postmortem.generate(incident, by=commander)
    page = as_user(viewer).get(url("postmortems") + "?state=draft").content.decode()
    assert "Checkout is slow" in page and ">Draft</span>" in page
    page = as_user(viewer).get(url("postmortems") + "?state=published").content.decode()
    assert "Checkout is slow" not in page
    page = as_user(viewer).get(url("postmortems") + "?state=lost").content.decode()
    assert "“lost” is not a postmortem state; showing every one." in page


# --- permissions -----------------------------------------------------------------------------------

# url name -> (least role allowed, what the form sends, what changed when it went through)
POSTS = {
    "acknowledge": ("responder", lambda ctx: {}, lambda incident, ctx: incident.acknowledged_at is not None),
    "note": ("responder", lambda ctx: {"text": "hi"},
             lambda incident, ctx: incident.timeline.filter(kind="note", message="hi").exists()),
    "item": ("responder", lambda ctx: {"action": "tick"},
             lambda incident, ctx: incident.checklist.filter(state="done").count() == 1),
    "transition": ("commander", lambda ctx: {"to": "investigating"},
                   lambda incident, ctx: incident.status == "investigating"),
    "severity": ("commander", lambda ctx: {"severity": ctx["sev"][0].pk},
                 lambda incident, ctx: incident.severity == ctx["sev"][0]),
    "role": ("commander", lambda ctx: {"role": "scribe", "user": ctx["scribe"].pk},
             lambda incident, ctx: incident.scribe == ctx["scribe"]),
    "attach": ("commander", lambda ctx: {"runbook": ctx["extra"].pk},
               lambda incident, ctx: incident.runbooks.filter(runbook=ctx["extra"]).exists()),
}
ROLES = ["viewer", "responder", "commander"]


@pytest.mark.parametrize("name", list(POSTS))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("htmx", [False, True])
def test_each_role_may_post_only_what_it_is_allowed(client, users, incident, sev, commander2, name, role, htmx):
    least, data, changed = POSTS[name]
    ctx = {"sev": sev, "scribe": commander2, "extra": make_runbook("Disk full", steps=[("mitigation", "Free", [])])}
    data = {**data(ctx), "revision": incident.revision}
    args = (incident.pk, incident.checklist.first().pk) if name == "item" else (incident.pk,)
    client.force_login(users[role])
    before = incident.timeline.count()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(url(name, *args), data, **headers)
    after = Incident.objects.get(pk=incident.pk)
    if ROLES.index(role) >= ROLES.index(least):
        assert response.status_code == (200 if htmx else 302)
        if htmx:
            assert 'id="poller"' in response.content.decode() and "message-error" not in response.content.decode()
        assert changed(after, ctx), f"{role} was allowed to {name} but nothing changed"
        assert after.timeline.count() > before  # its event (a severity raised may page too: more events)
    else:
        assert response.status_code == 403
        assert not changed(after, ctx)
        assert incident.timeline.count() == before


def test_declaring_needs_the_declare_permission(client, viewer, sev):
    client.force_login(viewer)
    assert client.post(url("declare"), {"title": "x", "severity": sev[0].pk}).status_code == 403
    assert not Incident.objects.exists()
