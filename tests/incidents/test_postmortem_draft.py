"""Drafting a postmortem from what an incident recorded, checked to the second against known timings."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import CommandRun, EventKind, Incident, Postmortem, TimelineEvent
from incidents.postmortem import draft
from tests.incidents.timings import at, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(commander, responder):
    return build(commander, responder)


def test_durations_run_from_impact_started_and_miss_the_raised_severitys_response_time(incident):
    facts = draft(incident)
    durations = {d["key"]: d for d in facts["durations"]}
    assert {k: d["seconds"] for k, d in durations.items()} == {"tta": 22 * 60, "ttm": 50 * 60, "ttr": 90 * 60}
    # Raised to SEV1 (15 min) at 09:15: its response time is what the durations are held to.
    assert {d["allowed"] for d in durations.values()} == {15 * 60}
    assert [d["met"] for d in facts["durations"]] == [False, False, False]


def test_a_met_response_time_is_reported_as_met(commander, responder):
    incident = build(commander, responder)
    with time_machine.travel(at(11, 0), tick=False):
        from runbooks.models import SeverityLevel

        incident.change_severity(SeverityLevel.objects.get(name="SEV3"), by=commander)  # 240 min
    facts = draft(incident)
    assert [d["met"] for d in facts["durations"]] == [True, True, True]
    assert "within the 4 h 00 min response time" in facts["text"]["summary"]


def test_milestones_are_listed_in_order_with_their_definitions(incident):
    milestones = draft(incident)["milestones"]
    assert [m["label"] for m in milestones] == ["Impact started", "Detected", "Declared", "Acknowledged",
                                                "Mitigated", "Resolved"]
    assert [m["since_impact"] for m in milestones] == [0, 600, 600, 22 * 60, 50 * 60, 90 * 60]
    assert milestones[0]["at"] == at(8, 50).isoformat()
    assert milestones[1]["defaulted"] is True  # detected: the declare time until someone says otherwise
    assert all(m["definition"] for m in milestones)


def test_severity_and_its_changes(incident):
    severity = draft(incident)["severity"]
    assert severity["current"] == "SEV1" and severity["declared_as"] == "SEV2"
    assert [(c["from"], c["to"], c["who"]) for c in severity["changes"]] == [("SEV2", "SEV1", "Cora Commander")]


def test_the_key_timeline_keeps_status_severity_pages_acks_commands_and_important_notes(incident):
    entries = draft(incident)["timeline"]
    # The escalation engine's own entries (kind "escalation", read by kind) are kept too; the rest in order:
    assert any(e["kind"] == "escalation" for e in entries)
    texts = [e["text"] for e in entries if e["kind"] != "escalation"]
    assert texts == [
        "Declared SEV2: Orders stuck",
        "Paged rosa by email",
        "Paged rosa by SMS (escalation tier 2)",
        "Acknowledged by rosa",
        "Severity SEV2 → SEV1",
        f"Run #{CommandRun.objects.order_by('pk')[0].pk} failed (exit 1) on local",
        f"Run #{CommandRun.objects.order_by('pk')[1].pk} succeeded (exit 0) on local",
        "Consumers stuck on a poison message",
        "Declared → Mitigated",
        "Mitigated → Resolved",
    ]
    failed = next(e for e in entries if e["kind"] == "command")
    assert failed["exit_code"] == 1 and failed["excerpt"].endswith("deployments.apps is forbidden")
    assert failed["excerpt"].count("\n") == 7  # the last eight lines
    assert "Getting coffee" not in texts  # a note nobody marked important
    assert len({e["key"] for e in entries}) == len(entries)


def test_checklist_people_and_runbook_gaps(incident, commander, responder):
    facts = draft(incident)
    checklist = facts["checklist"]
    assert (checklist["done"], checklist["skipped"], checklist["open"], checklist["total"]) == (1, 1, 1, 3)
    assert checklist["runbooks"][0]["skips"] == [{"label": "Restart the consumers",
                                                   "reason": "no kubectl access from the bastion", "by": "rosa"}]
    people = {p["name"]: p for p in facts["people"]}
    assert people["Cora Commander"]["roles"] == ["Commander"]
    assert "declared it" in people["Cora Commander"]["did"] and "1 severity change" in people["Cora Commander"]["did"]
    assert "acknowledged it" in people["rosa"]["did"] and "4 checklist changes" in people["rosa"]["did"]
    gaps = facts["gaps"]
    assert [g["label"] for g in gaps["skipped"]] == ["Restart the consumers"]
    assert [(g["label"], g["times"]) for g in gaps["reopened"]] == [("Check the queue depth", 1)]
    assert [g["script"] for g in gaps["failed_commands"]] == ["kubectl rollout restart deploy/consumers -n orders"]
    assert [g["script"] for g in gaps["unlisted_commands"]] == ["psql -c 'select count(*) from orders'"]


def test_the_drafted_summary_and_impact_state_the_figures(incident):
    text = draft(incident)["text"]
    assert "Impact started at 08:50 UTC on 2 Nov 2026" in text["summary"]
    assert "acknowledged after 22 min (missed the 15 min response time)" in text["summary"]
    assert "resolved after 1 h 30 min (missed the 15 min response time)" in text["summary"]
    assert "“Queue backlog” (v1): 1 of 3 steps done, 1 skipped" in text["summary"]
    assert "Impact lasted 50 min, from 08:50 UTC on 2 Nov 2026 until it was mitigated at 09:40" in text["impact"]
    assert "> Orders pile up in the queue" in text["impact"]


def test_regenerating_keeps_what_people_wrote_and_refreshes_what_they_did_not(incident, commander):
    postmortem = Postmortem.generate(incident, by=commander)
    root = postmortem.sections.get(key="root_cause")
    postmortem.save_section("root_cause", "A poison message", version=root.version, by=commander)
    summary = postmortem.sections.get(key="summary")
    postmortem.save_section("summary", "Our own summary", version=summary.version, by=commander)
    impact_before = postmortem.sections.get(key="impact").text
    with time_machine.travel(at(11, 0), tick=False):
        incident.edit_milestone("impact_started", at(8, 40), by=commander, reason="errors began at 08:40")
        Postmortem.generate(incident, by=commander)
    sections = {s.key: s for s in postmortem.sections.all()}
    assert sections["root_cause"].text == "A poison message"
    assert sections["summary"].text == "Our own summary"
    assert sections["impact"].text != impact_before and "Impact lasted 1 h 00 min" in sections["impact"].text
    postmortem.refresh_from_db()
    assert {d["key"]: d["seconds"] for d in postmortem.facts["durations"]}["tta"] == 32 * 60


def test_regenerating_keeps_the_entries_people_removed(incident, commander):
    postmortem = Postmortem.generate(incident, by=commander)
    removed = postmortem.facts["timeline"][1]["key"]
    postmortem.set_included(removed, False, by=commander)
    Postmortem.generate(incident, by=commander)
    postmortem.refresh_from_db()
    assert postmortem.excluded == [removed]


def _events(incident, count):
    TimelineEvent.objects.bulk_create([
        TimelineEvent(incident=incident, kind=EventKind.CHECKLIST if n % 3 else EventKind.NOTE, message=f"event {n}",
                      data={"important": n % 50 == 0}, at=at(9, 50)) for n in range(count)])


def _fresh(incident):
    return Incident.objects.select_related("severity", "service").get(pk=incident.pk)


def test_drafting_costs_the_same_queries_with_10_and_2000_events(incident):
    _events(incident, 10)
    with CaptureQueriesContext(connection) as small:
        draft(_fresh(incident))
    _events(incident, 1990)
    with CaptureQueriesContext(connection) as large:
        facts = draft(_fresh(incident))
    assert facts["counts"]["events"] > 2000
    assert len(large) == len(small) <= 6  # (the incident) + timeline, checklist, runs, people
