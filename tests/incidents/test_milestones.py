"""Milestones: defaults, durations from impact started, corrections with who and why, and their order."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents.models import EventKind, Incident, IncidentError
from tests.factories import make_severities
from tests.incidents.timings import at, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(commander, responder):
    return build(commander, responder)


def test_impact_started_defaults_to_the_declare_time(commander):
    incident = Incident.declare(title="Disk full", severity=make_severities()[2], by=commander)
    assert incident.impact_started_at == incident.declared_at


def test_an_alerts_start_becomes_impact_started_but_never_after_the_declaration(commander):
    sev = make_severities()
    with time_machine.travel(at(9, 0), tick=False):
        earlier = Incident.declare(title="From an alert", severity=sev[0], by=None, impact_started_at=at(8, 45))
        ahead = Incident.declare(title="Clock ahead", severity=sev[0], by=None, impact_started_at=at(9, 3))
    assert earlier.impact_started_at == at(8, 45)
    assert ahead.impact_started_at == ahead.declared_at == at(9, 0)


def test_the_acknowledge_clock_runs_from_impact_started(commander):
    with time_machine.travel(at(9, 0), tick=False):
        incident = Incident.declare(title="From an alert", severity=make_severities()[0], by=None,
                                    impact_started_at=at(8, 50))
    assert incident.response_due_at == at(9, 5)  # 15 min after impact, not after the declaration


def test_a_commander_corrects_a_milestone_and_the_timeline_says_who_and_why(incident, commander):
    with time_machine.travel(at(11, 0), tick=False):
        incident.edit_milestone("mitigated", at(9, 35), by=commander, reason="the graphs recovered at 09:35")
    incident.refresh_from_db()
    assert incident.mitigated_at == at(9, 35) and incident.time_to_mitigate == timedelta(minutes=45)
    edit = incident.milestone_edit("mitigated")
    assert edit["by_name"] == "Cora Commander" and edit["reason"] == "the graphs recovered at 09:35"
    assert edit["was"] == at(9, 40).isoformat()
    event = incident.timeline.filter(kind=EventKind.MILESTONE).get()
    assert event.actor == commander
    assert event.message == ("Mitigated changed from 09:40, 02 Nov 2026 to 09:35, 02 Nov 2026: "
                             "the graphs recovered at 09:35")
    assert incident.edited_milestones == ["mitigated"]


@pytest.mark.parametrize(("key", "when", "message"), [
    ("impact_started", at(9, 1), "Impact started (09:01, 02 Nov 2026) cannot come after Declared (09:00, 02 Nov"),
    ("acknowledged", at(8, 55), "Declared (09:00, 02 Nov 2026) cannot come after Acknowledged (08:55, 02 Nov"),
    ("mitigated", at(10, 30), "Mitigated (10:30, 02 Nov 2026) cannot come after Resolved (10:20, 02 Nov"),
    ("resolved", at(9, 39), "Mitigated (09:40, 02 Nov 2026) cannot come after Resolved (09:39, 02 Nov"),
    ("detected", at(8, 49), "Impact started (08:50, 02 Nov 2026) cannot come after Detected (08:49, 02 Nov"),
])
def test_a_correction_that_breaks_the_order_is_refused_and_changes_nothing(incident, commander, key, when, message):
    before = (incident.revision, incident.timeline.count())
    with pytest.raises(IncidentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        incident.edit_milestone(key, when, by=commander, reason="typo")
    incident.refresh_from_db()
    assert (incident.revision, incident.timeline.count()) == before
    assert incident.milestone_edits == {}


@pytest.mark.parametrize(("key", "when", "reason", "message"), [
    ("mitigated", at(9, 35), "   ", "Say why mitigated is being changed."),
    ("declared", at(9, 0), "x", "That milestone cannot be changed."),
    ("nonsense", at(9, 0), "x", "There is no such milestone."),
    ("resolved", None, "x", "Give the time resolved."),
])
def test_a_correction_needs_a_reason_a_time_and_an_editable_milestone(incident, commander, key, when, reason,
                                                                      message):
    with pytest.raises(IncidentError, match=message):
        incident.edit_milestone(key, when, by=commander, reason=reason)


def test_a_milestone_cannot_be_moved_into_the_future(incident, commander):
    with pytest.raises(IncidentError, match="Resolved cannot be in the future."):
        incident.edit_milestone("resolved", incident.resolved_at + timedelta(days=3650), by=commander, reason="x")


def test_a_milestone_not_reached_cannot_be_corrected(commander):
    incident = Incident.declare(title="Still going", severity=make_severities()[0], by=commander)
    with pytest.raises(IncidentError, match="not acknowledged yet"):
        incident.edit_milestone("acknowledged", incident.declared_at, by=commander, reason="x")


def test_the_edit_mark_goes_when_the_time_is_stamped_again(incident, commander):
    with time_machine.travel(at(11, 0), tick=False):
        incident.edit_milestone("resolved", at(10, 10), by=commander, reason="fixed at 10:10")
        incident.transition("investigating", by=commander)  # reopened...
        incident.transition("resolved", by=commander)  # ...and resolved again: a fresh, unedited time
    incident.refresh_from_db()
    assert incident.resolved_at == at(11, 0) and incident.milestone_edit("resolved") is None


# --- the form on the postmortem page ---------------------------------------------------------------

def url(incident):
    return reverse("incidents:milestone", args=[incident.pk])


def test_the_form_corrects_a_milestone_in_the_console_time_zone(as_user, incident, commander, settings):
    settings.TIME_ZONE = "Europe/Paris"  # UTC+1 in November
    response = as_user(commander).post(url(incident), {"milestone": "impact_started", "at": "2026-11-02T09:40",
                                                       "reason": "users reported errors from 08:40 UTC"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.impact_started_at == at(8, 40)


def test_the_form_says_why_a_correction_was_refused(as_user, incident, commander):
    client = as_user(commander)
    response = client.post(url(incident), {"milestone": "impact_started", "at": "2026-11-02T10:00",
                                           "reason": "oops"}, follow=True)
    assert "Impact started (10:00, 02 Nov 2026) cannot come after Declared" in response.content.decode()
    for bad, message in (({"milestone": "impact_started", "at": "yesterday", "reason": "x"},
                          "Give the time as a date and time"),
                         ({"milestone": "impact_started", "at": "2026-11-02T08:40", "reason": ""},
                          "Say why the time is being changed."),
                         ({"milestone": "declared", "at": "2026-11-02T08:40", "reason": "x"},
                          "That milestone cannot be changed.")):
        page = client.post(url(incident), bad, follow=True).content.decode()
        assert message in page
    incident.refresh_from_db()
    assert incident.impact_started_at == at(8, 50)


def test_only_commanders_correct_milestones(as_user, incident, responder):
    response = as_user(responder).post(url(incident), {"milestone": "impact_started", "at": "2026-11-02T08:40",
                                                       "reason": "x"})
    assert response.status_code == 403
