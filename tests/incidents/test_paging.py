"""The escalation engine, minute by minute (time-machine): tiers, stops, severity changes, pages by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from incidents import paging
from incidents.models import Escalation, EventKind, Incident, IncidentError, Page, Status
from tests.factories import make_severities
from tests.paging_factories import make_channel, make_person, make_policy, make_rotation, make_team

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sev(db):
    return make_severities()


@pytest.fixture
def people(db):
    return {name: make_person(name) for name in ("Ana", "Ben", "Cleo", "Dev")}


def paged(incident) -> list[tuple[str, int, int, str]]:
    """(who, tier, repeat, state) of every page, in order."""
    return list(Page.objects.filter(incident=incident).order_by("pk").values_list("name", "tier", "repeat", "state"))


def declare(sev, by, **kw) -> Incident:
    return Incident.declare(title=kw.pop("title", "Orders stuck"), severity=kw.pop("severity", sev[0]), by=by, **kw)


def deliver_all():
    return paging.deliver(list(Page.objects.filter(state=Page.State.PENDING).values_list("pk", flat=True)))


def test_tier_one_is_paged_at_declare_and_later_tiers_at_their_minutes(clock, sev, people, commander):
    make_policy(sev[0], [(5, [people["Ana"]]), (10, [people["Ben"]]), (15, [people["Cleo"]])], repeat=1)
    incident = declare(sev, commander)
    assert paged(incident) == [("Ana", 0, 0, "pending")]
    assert Escalation.objects.get(incident=incident).next_due_at == START + timedelta(minutes=5)

    clock.shift(timedelta(minutes=4, seconds=59))
    assert paging.tick().escalations == 0
    clock.shift(timedelta(seconds=1))
    assert paging.tick().escalations == 1
    assert paged(incident)[-1] == ("Ben", 1, 0, "pending")
    clock.shift(timedelta(minutes=10))
    paging.tick()
    assert paged(incident)[-1] == ("Cleo", 2, 0, "pending")
    clock.shift(timedelta(minutes=15))  # the repeat: tier 1 again, as repeat 1
    paging.tick()
    assert paged(incident)[-1] == ("Ana", 0, 1, "pending")
    for _ in range(2):
        clock.shift(timedelta(minutes=15))
        paging.tick()
    assert [p[:3] for p in paged(incident)] == [("Ana", 0, 0), ("Ben", 1, 0), ("Cleo", 2, 0), ("Ana", 0, 1),
                                                 ("Ben", 1, 1), ("Cleo", 2, 1)]
    clock.shift(timedelta(minutes=15))
    paging.tick()
    esc = Escalation.objects.get(incident=incident)
    assert esc.state == "finished" and esc.next_due_at is None and len(paged(incident)) == 6
    assert incident.timeline.filter(kind=EventKind.ESCALATION, message__startswith="Nobody acknowledged").exists()


def test_a_tick_before_the_due_minute_and_a_second_tick_page_nobody_twice(clock, sev, people, commander):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]])])
    incident = declare(sev, commander)
    clock.shift(timedelta(minutes=5))
    paging.tick()
    paging.tick()
    assert [p[0] for p in paged(incident)] == ["Ana", "Ben"]


def test_acknowledging_stops_it_and_cancels_later_pages_not_yet_sent(clock, sev, people, commander, responder):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]]), (5, [people["Cleo"]])])
    incident = declare(sev, commander)
    clock.shift(timedelta(minutes=5))
    paging.tick()  # Ben's page is written, not yet sent
    incident.acknowledge(by=responder)

    assert paged(incident) == [("Ana", 0, 0, "pending"), ("Ben", 1, 0, "cancelled")]
    esc = Escalation.objects.get(incident=incident)
    assert (esc.state, esc.next_due_at, esc.stopped_by) == ("acknowledged", None, responder)
    clock.shift(timedelta(hours=1))
    paging.tick()
    assert len(paged(incident)) == 2
    stop = incident.timeline.filter(kind=EventKind.ESCALATION).last()
    assert stop.message == "Escalation stopped: acknowledged by rosa; 1 page not yet sent were cancelled."


def test_the_first_tier_goes_out_even_when_acknowledged_at_once(clock, sev, people, commander, responder):
    make_policy(sev[0], [(5, [people["Ana"], people["Ben"]]), (5, [people["Cleo"]])])
    incident = declare(sev, commander)
    incident.acknowledge(by=responder)
    deliver_all()

    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.com", "ben@example.com"]
    assert [p[3] for p in paged(incident)] == ["sent", "sent"]


def test_resolving_stops_it(clock, sev, people, commander):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]])])
    incident = declare(sev, commander)
    incident.transition(Status.RESOLVED, by=commander)
    clock.shift(timedelta(minutes=30))
    paging.tick()
    assert Escalation.objects.get(incident=incident).state == "resolved"
    assert [p[0] for p in paged(incident)] == ["Ana"]


def test_a_policy_edited_after_declare_does_not_change_the_running_escalation(clock, sev, people, commander):
    policy = make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]])])
    incident = declare(sev, commander)
    policy.tiers.get(order=1).contacts.set([people["Dev"]])
    clock.shift(timedelta(minutes=5))
    paging.tick()
    assert [p[0] for p in paged(incident)] == ["Ana", "Ben"]


def test_a_rotation_tier_pages_whoever_is_on_call_when_it_fires(clock, sev, people, commander):
    rotation = make_rotation("Primary", [people["Ana"], people["Ben"]],
                             handoff_at=START - timedelta(hours=23, minutes=58))
    make_policy(sev[0], [(5, [people["Cleo"]]), (5, [rotation])])
    incident = declare(sev, commander)  # Ana is on call for two more minutes
    clock.shift(timedelta(minutes=5))
    paging.tick()
    page = Page.objects.get(incident=incident, tier=1)
    assert (page.name, page.via, page.target) == ("Ben", "Primary", f"contact:{people['Ben'].pk}")


def test_a_team_without_an_address_is_paged_through_its_people_once_each(clock, sev, people, commander):
    team = make_team("Payments", members=[people["Ana"], people["Ben"]])
    make_policy(sev[0], [(None, [team, people["Ana"]])])
    incident = declare(sev, commander)
    assert sorted((p[0], p[3]) for p in paged(incident)) == [("Ana", "pending"), ("Ben", "pending")]
    assert Escalation.objects.get(incident=incident).state == "finished"


def test_a_target_with_no_way_to_reach_them_is_a_skipped_page_with_the_reason(clock, sev, commander):
    phone_only = make_person("Fay", email=None, phone="+1-555-0100")
    make_policy(sev[0], [(5, [phone_only, make_channel("#ops")])])
    incident = declare(sev, commander)
    pages = list(Page.objects.filter(incident=incident).order_by("name"))
    assert [(p.name, p.state, p.channel) for p in pages] == [("#ops", "skipped", "none"), ("Fay", "skipped", "none")]
    assert pages[1].error == "Fay has no email address, so the console cannot page them (a phone number is for " \
                             "people to use)"
    messages = list(incident.timeline.filter(kind=EventKind.NOTIFICATION).values_list("message", flat=True))
    assert messages[0] == "Could not page #ops: #ops has no webhook URL, so the console cannot post to it"


def test_raising_the_severity_pages_only_people_not_yet_paged(clock, sev, people, commander):
    make_policy(sev[1], [(10, [people["Ana"]]), (10, [people["Ben"]])])
    make_policy(sev[0], [(5, [people["Ana"], people["Cleo"]]), (5, [people["Dev"]])])
    incident = declare(sev, commander, severity=sev[1])
    incident.change_severity(sev[0], by=commander)

    assert paged(incident) == [("Ana", 0, 0, "pending"), ("Cleo", 0, 0, "pending")]
    assert Page.objects.get(name="Cleo").kind == "severity"
    esc = Escalation.objects.get(incident=incident)
    assert (esc.generation, esc.next_tier, esc.next_due_at) == (2, 1, START + timedelta(minutes=5))
    clock.shift(timedelta(minutes=5))
    paging.tick()
    assert paged(incident)[-1][:2] == ("Dev", 1)


def test_raising_the_severity_after_acknowledgement_tells_new_people_but_does_not_escalate(
        clock, sev, people, commander):
    make_policy(sev[1], [(10, [people["Ana"]])])
    make_policy(sev[0], [(5, [people["Cleo"]]), (5, [people["Dev"]])])
    incident = declare(sev, commander, severity=sev[1])
    incident.acknowledge(by=commander)
    incident.change_severity(sev[0], by=commander)
    clock.shift(timedelta(hours=1))
    paging.tick()
    assert [p[0] for p in paged(incident)] == ["Ana", "Cleo"]


def test_no_policy_pages_nobody_and_says_so_on_the_panel(clock, sev, commander, client):
    incident = declare(sev, commander, severity=sev[3])
    assert Escalation.objects.get(incident=incident).state == "no_policy" and not paged(incident)
    client.force_login(commander)
    html = client.get(incident.get_absolute_url()).content.decode()
    assert "No escalation policy matches SEV4" in html


def test_page_now_pages_a_chosen_contact_by_hand(clock, sev, people, commander):
    make_policy(sev[0], [(5, [people["Ana"]])])
    incident = declare(sev, commander)
    esc = Escalation.objects.get(incident=incident)
    paging.page_now(incident, people["Dev"], by=commander, position=esc.position)
    paging.page_now(incident, people["Dev"], by=commander)
    assert [p[:2] for p in paged(incident)] == [("Ana", 0), ("Dev", -1), ("Dev", -1)]
    assert incident.timeline.filter(kind=EventKind.ESCALATION, message="Paging Dev by email now (by hand)").count() == 2


def test_page_now_refuses_a_contact_it_cannot_reach_and_stores_nothing(clock, sev, people, commander):
    incident = declare(sev, commander)
    with pytest.raises(IncidentError, match="Nothing was paged: Fay has no email address"):
        paging.page_now(incident, make_person("Fay", email=None), by=commander)
    assert not paged(incident)


def test_jump_to_a_tier_pages_it_now_and_goes_on_from_there(clock, sev, people, commander):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]]), (5, [people["Cleo"]])])
    incident = declare(sev, commander)
    esc = Escalation.objects.get(incident=incident)
    paging.jump_to_tier(incident, 2, by=commander, position=esc.position)
    assert [p[:2] for p in paged(incident)] == [("Ana", 0), ("Cleo", 2)]
    esc.refresh_from_db()
    assert esc.next_due_at == START + timedelta(minutes=5) and esc.next_tier == 3


def test_a_stale_jump_after_someone_acknowledged_does_nothing_and_says_why(clock, sev, people, commander, responder):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]])])
    incident = declare(sev, commander)
    seen = Escalation.objects.get(incident=incident).position
    clock.shift(timedelta(minutes=1))
    incident.acknowledge(by=responder)
    with pytest.raises(IncidentError, match=r"Nothing was paged: the escalation stopped at 03:01 \(acknowledged by "
                                            r"rosa\) while you were looking"):
        paging.jump_to_tier(incident, 1, by=commander, position=seen)
    with pytest.raises(IncidentError, match="stopped at 03:01"):
        paging.page_now(incident, people["Dev"], by=commander, position=seen)
    assert [p[0] for p in paged(incident)] == ["Ana"]


def test_a_stale_jump_after_the_tier_fired_does_nothing(clock, sev, people, commander):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]]), (5, [people["Cleo"]])])
    incident = declare(sev, commander)
    seen = Escalation.objects.get(incident=incident).position
    clock.shift(timedelta(minutes=5))
    paging.tick()
    with pytest.raises(IncidentError, match="moved on at 03:05"):
        paging.jump_to_tier(incident, 1, by=commander, position=seen)
    assert [p[0] for p in paged(incident)] == ["Ana", "Ben"]


def test_lowering_the_severity_onto_a_policy_starts_it_when_nobody_was_paged(clock, sev, people, commander):
    make_policy(sev[2], [(5, [people["Ana"]])])
    incident = declare(sev, commander, severity=sev[0])  # SEV1 has no policy here
    incident.change_severity(sev[2], by=commander)
    paging.tick()
    assert [p[0] for p in paged(incident)] == ["Ana"]


def test_lowering_the_severity_pages_nobody_now_and_goes_on_with_the_lower_policy(clock, sev, people, commander):
    make_policy(sev[0], [(5, [people["Ana"]]), (5, [people["Ben"]])])
    make_policy(sev[2], [(30, [people["Cleo"]]), (30, [people["Dev"]])])
    incident = declare(sev, commander)
    incident.change_severity(sev[2], by=commander)
    assert [p[0] for p in paged(incident)] == ["Ana"]
    clock.shift(timedelta(minutes=5))
    paging.tick()
    assert [p[0] for p in paged(incident)] == ["Ana", "Dev"]
