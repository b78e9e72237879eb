"""The incident's rules on the model: lifecycle, stamps, acknowledgement, revisions, the append-only timeline."""

from __future__ import annotations

import pytest

from incidents.models import ChecklistItem, EventKind, Incident, IncidentError, Postmortem, Status, TimelineEvent
from tests.factories import declare_queue_incident, make_runbook, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev(db):
    return make_severities()


@pytest.fixture
def incident(sev, commander):
    return declare_queue_incident(commander, severity=sev[0])


def test_the_whole_lifecycle_stamps_each_time(incident, commander):
    Postmortem.waive(incident, by=commander, reason="a drill")  # SEV1 needs a postmortem (or a waiver) to close
    for status, stamp in [(Status.INVESTIGATING, "investigating_at"), (Status.IDENTIFIED, "identified_at"),
                          (Status.MITIGATED, "mitigated_at"), (Status.RESOLVED, "resolved_at"),
                          (Status.CLOSED, "closed_at")]:
        incident.transition(status, by=commander)
        stored = Incident.objects.get(pk=incident.pk)
        assert stored.status == status and getattr(stored, stamp) is not None
    kinds = list(incident.timeline.filter(kind=EventKind.STATUS).values_list("data__to", flat=True))
    assert kinds == ["investigating", "identified", "mitigated", "resolved", "closed"]


def test_moving_on_acknowledges_an_unacknowledged_incident(incident, commander):
    incident.transition(Status.INVESTIGATING, by=commander)
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.acknowledged_at is not None and stored.acknowledged_by == commander


def test_acknowledging_stamps_once(incident, responder, commander):
    incident.acknowledge(by=responder)
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.acknowledged_at and stored.acknowledged_by == responder
    with pytest.raises(IncidentError, match="Already acknowledged by rosa"):
        stored.acknowledge(by=commander)


@pytest.mark.parametrize(("path", "refused"), [
    ([], Status.CLOSED),
    ([Status.RESOLVED], Status.IDENTIFIED),
    ([Status.MITIGATED], Status.IDENTIFIED),
    ([Status.RESOLVED, Status.CLOSED], Status.INVESTIGATING),
])
def test_transitions_not_allowed_are_refused_and_change_nothing(incident, commander, path, refused):
    Postmortem.waive(incident, by=commander, reason="a drill")  # SEV1 needs a postmortem (or a waiver) to close
    for status in path:
        incident.transition(status, by=commander)
    before = (incident.status, incident.revision, incident.timeline.count())
    with pytest.raises(IncidentError, match="cannot become"):
        incident.transition(refused, by=commander)
    stored = Incident.objects.get(pk=incident.pk)
    assert (stored.status, stored.revision, stored.timeline.count()) == before


def test_reopening_a_resolved_incident_clears_its_resolution(incident, commander):
    incident.transition(Status.RESOLVED, by=commander)
    incident.transition(Status.INVESTIGATING, by=commander)
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.status == Status.INVESTIGATING and stored.resolved_at is None and stored.is_open


def test_every_change_bumps_the_revision(incident, commander, commander2, sev):
    revision = Incident.objects.get(pk=incident.pk).revision
    item = incident.checklist.first()
    changes = [
        lambda: incident.acknowledge(by=commander),
        lambda: item.tick(by=commander),
        lambda: item.reopen(by=commander),
        lambda: incident.add_note("hello", by=commander),
        lambda: incident.assign_role("scribe", commander2, by=commander),
        lambda: incident.change_severity(sev[1], by=commander),
        lambda: incident.transition(Status.IDENTIFIED, by=commander),
        lambda: incident.attach_runbook(make_runbook("Other", steps=[]), by=commander),
    ]
    for change in changes:
        change()
        stored = Incident.objects.get(pk=incident.pk).revision
        assert stored == revision + 1
        revision = stored


def test_a_stale_revision_is_refused(incident, commander, sev):
    stale = incident.revision
    incident.add_note("x", by=commander)
    for change in (lambda: incident.transition(Status.IDENTIFIED, by=commander, revision=stale),
                   lambda: incident.change_severity(sev[2], by=commander, revision=stale),
                   lambda: incident.assign_role("scribe", commander, by=commander, revision=stale)):
        with pytest.raises(IncidentError, match="Someone else changed this incident"):
            change()
    stored = Incident.objects.get(pk=incident.pk)
    assert (stored.status, stored.severity_id, stored.scribe_id) == (Status.DECLARED, sev[0].pk, None)


def test_a_closed_incident_refuses_ticks_and_attachments(incident, commander):
    Postmortem.waive(incident, by=commander, reason="a drill")  # SEV1 needs a postmortem (or a waiver) to close
    incident.transition(Status.RESOLVED, by=commander)
    incident.transition(Status.CLOSED, by=commander)
    with pytest.raises(IncidentError, match="closed"):
        incident.checklist.first().tick(by=commander)
    with pytest.raises(IncidentError, match="closed"):
        incident.attach_runbook(make_runbook("Late", steps=[]), by=commander)
    assert not incident.checklist.exclude(state="open").exists()


def test_the_checklist_is_pinned_to_the_version_attached(incident, commander, as_user):
    from django.db import transaction

    from runbooks.models import Step

    link = incident.runbooks.get()
    runbook = link.runbook
    with transaction.atomic():  # an edit of the runbook, as the admin and the importer make one: a new version
        Step.objects.filter(runbook=runbook, order=0).update(text="Page the queue's owner first")
        runbook.record_version(note="edited later")
    assert runbook.current_version().number == link.version.number + 1
    later = Incident.declare(title="Orders stuck again", severity=incident.severity, by=commander, runbooks=[runbook])
    assert later.checklist.order_by("order").first().text == "Page the queue's owner first"  # the edit is live
    assert list(incident.checklist.order_by("order").values_list("text", flat=True)) == [
        "Check the queue depth", "Add consumers"]
    page = as_user(commander).get(incident.get_absolute_url()).content.decode()
    assert "Check the queue depth" in page and "owner first" not in page
    assert f"pinned v{link.version.number}" in page


def test_skip_needs_a_reason_of_sensible_length(incident, commander):
    item = incident.checklist.first()
    with pytest.raises(IncidentError, match="Say why"):
        item.skip(by=commander, reason="")
    with pytest.raises(IncidentError, match="under 500"):
        item.skip(by=commander, reason="x" * 501)
    item.skip(by=commander, reason="no access")
    assert ChecklistItem.objects.get(pk=item.pk).state == "skipped"


def test_the_timeline_is_append_only(incident):
    event = incident.timeline.first()
    with pytest.raises(IncidentError):
        event.save()
    with pytest.raises(IncidentError):
        event.delete()
    with pytest.raises(IncidentError):
        TimelineEvent.objects.filter(incident=incident).update(message="rewritten")
    with pytest.raises(IncidentError):
        TimelineEvent.objects.filter(incident=incident).delete()


def test_durations_for_the_postmortem_list(incident, commander):
    incident.transition(Status.MITIGATED, by=commander)
    incident.transition(Status.RESOLVED, by=commander)
    stored = Incident.objects.select_related("severity").get(pk=incident.pk)
    assert stored.time_to_acknowledge is not None and stored.time_to_mitigate is not None
    assert stored.time_to_resolve >= stored.time_to_mitigate
    assert stored.response_time.total_seconds() == 15 * 60
