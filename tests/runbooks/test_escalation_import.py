"""Imported escalation matrices become policies, and an incident pages what the document's table says."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail

from incidents import paging
from incidents.models import EventKind, Incident, Page
from runbooks.importer import parse_document
from runbooks.importer.types import ImportedContact, ImportedDocument, ImportedEscalation
from runbooks.models import Contact, EscalationPolicy, SeverityLevel
from runbooks.store import store_document
from tests.conftest import need

pytestmark = pytest.mark.django_db
SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"


def import_seed(name: str):
    path = SEEDS / name
    need(path.exists(), f"{path} is missing (the shared seeds live beside the project)")
    data = path.read_bytes()
    return store_document(parse_document(data, path.name), source_bytes=data)


def test_the_seed_matrix_becomes_one_policy_per_severity_with_the_tables_people_and_minutes():
    result = import_seed("004_78bffc72f6f6c34a.txt")
    assert result.escalation_policies == 4
    policies = {p.severity.name: p for p in EscalationPolicy.objects.select_related("severity")}
    assert sorted(policies) == ["P0", "P1", "P2", "P3"]
    p0 = policies["P0"].tiers.get()
    assert (p0.notify_names, p0.delay_minutes) == (["On-Call Engineer", "Platform Lead"], 15)
    assert list(policies["P1"].tiers.get().contacts.values_list("name", flat=True)) == ["Platform Team"]
    p3 = policies["P3"].tiers.get()
    assert (p3.delay_minutes, p3.action) == (None, "Next business day")
    assert any("P0 escalation: Tier 1: nobody called “On-Call Engineer”" in w for w in result.warnings)


def test_a_p0_incident_from_the_seed_notifies_what_its_table_says(commander):
    import_seed("004_78bffc72f6f6c34a.txt")
    p0 = SeverityLevel.objects.get(name="P0")
    incident = Incident.declare(title="Complete outage", severity=p0, by=commander)

    pages = {p.name: p for p in incident.pages.all()}
    assert sorted(pages) == ["On-Call Engineer", "Platform Lead"]
    assert all(p.state == "skipped" and p.tier == 0 for p in pages.values())
    assert "nobody called “Platform Lead” is in the contacts" in pages["Platform Lead"].error
    events = set(incident.timeline.filter(kind=EventKind.NOTIFICATION).values_list("message", flat=True))
    assert "Could not page On-Call Engineer: nobody called “On-Call Engineer” is in the contacts or rotations" in events

    # An admin adds the platform lead: the next P0 emails them, by the document's own name.
    Contact.objects.create(name="Platform Lead", email="lead@example.com")
    second = Incident.declare(title="Outage again", severity=p0, by=commander)
    lead = second.pages.get(name="Platform Lead")
    assert (lead.state, lead.channel, lead.address) == ("pending", "email", "lead@example.com")
    paging.deliver([lead.pk])
    assert mail.outbox[-1].to == ["lead@example.com"] and "Outage again" in mail.outbox[-1].subject


def test_a_p1_incident_from_the_seed_emails_the_platform_team(commander):
    import_seed("004_78bffc72f6f6c34a.txt")
    incident = Incident.declare(title="Checkout slow", severity=SeverityLevel.objects.get(name="P1"), by=commander)
    page = incident.pages.get()
    assert (page.name, page.address) == ("Platform Team", "platform-team@smartcloudops.ai")


def test_importing_the_seed_again_changes_no_policy():
    import_seed("004_78bffc72f6f6c34a.txt")
    tiers = list(EscalationPolicy.objects.values_list("tiers__pk", flat=True).order_by("tiers__pk"))
    import_seed("004_78bffc72f6f6c34a.txt")
    assert list(EscalationPolicy.objects.values_list("tiers__pk", flat=True).order_by("tiers__pk")) == tiers


def doc(rows, contacts=()):
    return ImportedDocument(source="matrix.md", escalation=rows, contacts=list(contacts))


def test_a_policy_an_admin_changed_survives_a_reimport_with_a_warning():
    store_document(doc([ImportedEscalation(severity=None, notify=["Ana"], within_minutes=5)]))
    policy = EscalationPolicy.objects.get()
    policy.edited = True
    policy.save()
    result = store_document(doc([ImportedEscalation(severity=None, notify=["Ben"], within_minutes=9)]))
    assert policy.tiers.get().notify_names == ["Ana"]
    assert "changed in the admin since it was imported" in result.warnings[0]


def test_an_imported_contact_keeps_what_an_admin_added_that_the_document_leaves_out():
    store_document(doc([], [ImportedContact(role="DevOps Lead", email="devops@example.com")]))
    Contact.objects.filter(name="DevOps Lead").update(phone="+1-555-0199")
    store_document(doc([], [ImportedContact(role="DevOps Lead", email="devops@example.com")]))
    assert Contact.objects.get(name="DevOps Lead").phone == "+1-555-0199"


def test_a_channel_known_by_its_purpose_is_named_by_the_channel():
    store_document(doc([], [ImportedContact(role="For active incidents", channel="#incident-response", via="Slack")]))
    channel = Contact.objects.get()
    assert (channel.name, channel.role, channel.kind) == ("#incident-response", "For active incidents", "channel")


@pytest.mark.parametrize("row", [
    ImportedEscalation(severity="P9", notify=[], within_minutes=-5, action="x" * 1000),
    ImportedEscalation(severity="", notify=["", "  "], within_minutes=None, action=None),
    ImportedEscalation(severity="P0", notify=["N" * 500], within_minutes=10**6, action="Page"),
])
def test_odd_escalation_rows_are_stored_as_far_as_they_make_sense_never_a_crash(row):
    result = store_document(doc([row]))
    assert result.escalation_policies == 1
    tier = EscalationPolicy.objects.get().tiers.get()
    assert tier.delay_minutes is None or tier.delay_minutes >= 0
    assert all(len(n) <= 200 for n in tier.notify_names)
    assert Page.objects.count() == 0
