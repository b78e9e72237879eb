"""The two-person rule cannot be dodged: severity games, late approvals, replays and double clicks."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from incidents import tasks
from incidents.forms_commands import CommandRunForm
from incidents.models import CommandRun, EventKind, Status
from incidents.models.runs import AlreadyStarted
from tests.factories import make_severities
from tests.incidents.test_command_runs import command_events, item_of, make_incident, run_url, target

pytestmark = pytest.mark.django_db
__all__ = ["target"]  # the fixture, shared

RM = "rm -rf /tmp/console-test-old"


def close(incident, by) -> None:
    """Close a resolved SEV1, whose close policy wants a postmortem: waived, as a commander may."""
    from incidents.models import Postmortem

    Postmortem.waive(incident, by=by, reason="a drill")
    incident.transition(Status.CLOSED, by=by)


def request_destructive(incident, by, target, **kwargs) -> CommandRun:
    return CommandRun.request(item=item_of(incident), index=1, values={"dir": "old"}, by=by, target=target,
                              understood_destructive=True, **kwargs)


def test_lowering_the_severity_does_not_lift_the_two_person_rule(commander, target):
    incident = make_incident(commander, rank=0)
    incident.change_severity(make_severities()[3], by=commander)
    assert request_destructive(incident, commander, target).state == "awaiting_approval"


def test_raising_then_lowering_the_severity_keeps_the_rule_too(commander, target):
    incident = make_incident(commander, rank=3)
    assert not incident.ever_needed_second_approval
    incident.change_severity(make_severities()[1], by=commander)
    incident.change_severity(make_severities()[3], by=commander)
    assert request_destructive(incident, commander, target).state == "awaiting_approval"


def test_an_incident_never_at_an_approval_severity_runs_destructive_commands_at_once(commander, target):
    incident = make_incident(commander, rank=3)
    with mock.patch.object(tasks.run_command, "apply_async"):
        assert request_destructive(incident, commander, target).state == "queued"


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_a_run_of_a_resolved_or_closed_incident_cannot_be_approved(as_user, commander, commander2, target, status):
    incident = make_incident(commander, rank=0)
    run = request_destructive(incident, commander, target)
    incident.transition(Status.RESOLVED, by=commander)
    if status == Status.CLOSED:
        close(incident, commander)
        CommandRun.objects.filter(pk=run.pk).update(state="awaiting_approval")  # as if closing had missed it
    client = as_user(commander2)
    response = client.post(reverse("incidents:run_approve", args=[incident.pk, run.pk]), follow=True)
    run.refresh_from_db()
    assert run.state == "awaiting_approval" and run.approved_by is None
    assert f"Incident #{incident.pk} is {status.label.lower()}" in response.content.decode()


def test_closing_cancels_the_runs_waiting_for_approval(commander, target):
    incident = make_incident(commander, rank=0)
    first, second = request_destructive(incident, commander, target), request_destructive(incident, commander, target)
    incident.transition(Status.RESOLVED, by=commander)
    close(incident, commander)
    states = set(CommandRun.objects.values_list("state", "reason"))
    assert states == {("cancelled", "Cancelled before approval: the incident was closed")}
    assert command_events(incident)[-1] == (f"Cancelled runs #{first.pk}, #{second.pk} awaiting approval: "
                                            "the incident was closed")
    assert incident.timeline.filter(kind=EventKind.STATUS).order_by("pk").last().message == "Resolved → Closed"


def test_one_preview_starts_one_run_however_often_it_is_sent(as_user, responder, target):
    incident = make_incident(responder)
    client = as_user(responder)
    token = CommandRunForm.preview_token("echo hello x")
    data = {"action": "dispatch", "target": target.pk, "param_name": "x", "previewed": token}
    with mock.patch.object(tasks.run_command, "apply_async"):
        first = client.post(run_url(incident), data)
        again = client.post(run_url(incident), data, follow=True)
    assert first.status_code == 302
    assert CommandRun.objects.count() == 1
    run = CommandRun.objects.get()
    assert f"Run #{run.pk} was already started from this preview" in again.content.decode()
    assert sum("Requested run" in m for m in command_events(incident)) == 1


def test_the_same_token_twice_through_the_model_raises_naming_the_first_run(responder, target):
    incident = make_incident(responder)
    first = CommandRun.request(item=item_of(incident), index=0, values={"name": "x"}, by=responder, target=target,
                               preview_token="t-1")
    with pytest.raises(AlreadyStarted) as caught:
        CommandRun.request(item=item_of(incident), index=0, values={"name": "x"}, by=responder, target=target,
                           preview_token="t-1")
    assert caught.value.run.pk == first.pk


def test_a_preview_token_this_console_did_not_make_is_refused(as_user, responder, target):
    incident = make_incident(responder)
    forged = CommandRunForm.digest("echo hello x")  # the old, guessable token
    data = {"action": "dispatch", "target": target.pk, "param_name": "x", "previewed": forged}
    response = as_user(responder).post(run_url(incident), data)
    assert "What will run changed since you looked at it" in response.content.decode()
    assert not CommandRun.objects.exists()
