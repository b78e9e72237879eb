"""An incident that needs a postmortem cannot close until it is published or waived by a commander."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents.models import EventKind, Incident, IncidentError, Postmortem, PostmortemPolicy, Status
from tests.factories import make_severities
from tests.incidents.timings import at, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev(db):
    return make_severities()


def resolved(sev_level, by, *, lasted=timedelta(minutes=10)):
    start = at(9, 0)
    with time_machine.travel(start, tick=False) as clock:
        incident = Incident.declare(title="Something broke", severity=sev_level, by=by, commander=by)
        clock.move_to(start + lasted)
        incident.transition(Status.RESOLVED, by=by)
    return incident


def publish(incident, by, reviewer=None):
    postmortem = Postmortem.generate(incident, by=by)
    postmortem.move(Postmortem.State.IN_REVIEW, by=by)
    postmortem.move(Postmortem.State.PUBLISHED, by=reviewer or by)
    return postmortem


def test_the_two_most_severe_levels_need_a_postmortem_by_default(sev, commander):
    incident = resolved(sev[1], commander)
    with pytest.raises(IncidentError, match=r"A postmortem is required \(SEV2 incidents need one\)"):
        incident.transition(Status.CLOSED, by=commander)
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED and incident.closed_at is None


def test_a_short_minor_incident_closes_without_one(sev, commander):
    incident = resolved(sev[2], commander, lasted=timedelta(minutes=30))
    assert incident.closing_needs() == []
    incident.transition(Status.CLOSED, by=commander)
    assert incident.status == Status.CLOSED


def test_a_long_impact_needs_one_whatever_the_severity(sev, commander):
    incident = resolved(sev[3], commander, lasted=timedelta(minutes=61))
    assert incident.closing_needs() == [
        "A postmortem is required (its impact lasted 1 h 01 min, over the 60 min limit): publish it, or a "
        "commander waives it with a reason."]


def test_the_severities_and_limit_an_admin_picks_replace_the_defaults(sev, commander):
    policy = PostmortemPolicy.objects.create(pk=1, impact_minutes=None)
    policy.severities.set([sev[2]])
    assert resolved(sev[0], commander, lasted=timedelta(hours=5)).closing_needs() == []
    assert "SEV3 incidents need one" in resolved(sev[2], commander).closing_needs()[0]


def test_publishing_lets_it_close(sev, commander, commander2):
    incident = resolved(sev[0], commander)
    publish(incident, commander, commander2)
    incident.refresh_from_db()
    incident.transition(Status.CLOSED, by=commander)
    assert incident.status == Status.CLOSED


def test_a_draft_or_one_in_review_does_not(sev, commander):
    incident = resolved(sev[0], commander)
    postmortem = Postmortem.generate(incident, by=commander)
    postmortem.move(Postmortem.State.IN_REVIEW, by=commander)
    with pytest.raises(IncidentError, match="publish it"):
        incident.transition(Status.CLOSED, by=commander)


def test_a_waiver_needs_a_reason_and_goes_on_the_timeline(sev, commander):
    incident = resolved(sev[0], commander)
    with pytest.raises(IncidentError, match="Say why this incident needs no postmortem."):
        Postmortem.waive(incident, by=commander, reason="  ")
    assert not Postmortem.objects.exists()
    Postmortem.waive(incident, by=commander, reason="a drill: nothing real broke")
    event = incident.timeline.filter(kind=EventKind.POSTMORTEM).get()
    assert event.message == "Postmortem waived: a drill: nothing real broke" and event.actor == commander
    incident.refresh_from_db()
    incident.transition(Status.CLOSED, by=commander)
    assert incident.status == Status.CLOSED


def test_closing_through_the_page_is_refused_with_the_reason(as_user, sev, commander):
    incident = resolved(sev[0], commander)
    response = as_user(commander).post(reverse("incidents:transition", args=[incident.pk]),
                                       {"to": "closed", "revision": incident.revision}, follow=True)
    assert "It cannot be closed yet: A postmortem is required (SEV1 incidents need one)" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_the_incident_page_says_what_closing_still_needs(as_user, sev, commander, commander2):
    incident = resolved(sev[0], commander)
    client = as_user(commander)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Closing still needs:" in page and "SEV1 incidents need one" in page
    publish(incident, commander, commander2)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Closing still needs:" not in page and "Nothing blocks closing." in page


def test_a_waiver_through_the_page(as_user, sev, commander, responder):
    incident = resolved(sev[0], commander)
    url = reverse("incidents:postmortem_waive", args=[incident.pk])
    assert as_user(responder).post(url, {"reason": "drill"}).status_code == 403
    page = as_user(commander).post(url, {"reason": ""}, follow=True).content.decode()
    assert "Say why this incident needs no postmortem." in page
    page = as_user(commander).post(url, {"reason": "a drill"}, follow=True).content.decode()
    assert "Waived by" in page and "“a drill”" in page
    assert Incident.objects.get(pk=incident.pk).closing_needs() == []


def test_a_published_postmortem_cannot_be_waived(commander, responder, commander2):
    incident = build(commander, responder)
    publish(incident, commander, commander2)
    with pytest.raises(IncidentError, match="nothing to waive"):
        Postmortem.waive(incident, by=commander, reason="no")
