"""Storing a parsed document: idempotent, versioned, all or nothing."""

from __future__ import annotations

import pytest

from runbooks.importer.types import (
    ImportedCommand,
    ImportedContact,
    ImportedDocument,
    ImportedEscalation,
    ImportedRunbook,
    ImportedSeverity,
    ImportedStep,
)
from runbooks.models import (
    Command,
    Contact,
    EscalationPolicy,
    Runbook,
    RunbookVersion,
    Service,
    SeverityLevel,
    SourceDocument,
    Step,
)
from runbooks.store import preview_document, store_document, unreadable_reason

pytestmark = pytest.mark.django_db


def step(text, *commands, phase="investigation", heading="Investigation", checkbox=False):
    return ImportedStep(phase=phase, heading=heading, text=text, checkbox=checkbox,
                        commands=[ImportedCommand(language="bash", text=c) for c in commands])


def runbook(title="Checkout latency high", *, key=None, steps=None, service="checkout-api", **extra):
    fields = {"title": title, "key": key, "service": service, "alerts": ["CheckoutLatencyHigh"],
              "error_patterns": [], "severity": "SEV2",
              "steps": steps if steps is not None else [
                  step("Look at the pods", "kubectl get pods -n <namespace>"),
                  step("Restart it", "kubectl rollout restart deploy/checkout -n <namespace>", phase="mitigation"),
              ]}
    fields.update(extra)
    return ImportedRunbook(**fields)


def document(*runbooks, source="checkout.md", title="Checkout runbooks", severity_levels=(), contacts=(),
             escalation=(), warnings=()):
    return ImportedDocument(source=source, title=title, runbooks=list(runbooks),
                            severity_levels=list(severity_levels), contacts=list(contacts),
                            escalation=list(escalation), warnings=list(warnings))


def test_it_creates_runbooks_with_steps_commands_and_a_first_version(admin_user):
    result = store_document(document(runbook()), by=admin_user, source_bytes=b"# Checkout")

    assert result.created == ["Checkout latency high"]
    stored = Runbook.objects.get()
    assert stored.service == Service.objects.get(name="checkout-api")
    assert stored.alerts == ["CheckoutLatencyHigh"]
    assert stored.severity_text == "SEV2"
    assert [s.text for s in stored.steps.all()] == ["Look at the pods", "Restart it"]
    assert Command.objects.filter(step__runbook=stored).count() == 2
    version = stored.versions.get()
    assert (version.number, version.created_by, version.note) == (1, admin_user, "imported from checkout.md")
    source = SourceDocument.objects.get()
    assert source.name == "checkout.md" and len(source.sha256) == 64
    assert stored.source == source


def test_importing_the_same_document_again_changes_nothing():
    store_document(document(runbook()))
    again = store_document(document(runbook()))

    assert again.unchanged == ["Checkout latency high"] and not again.created and not again.updated
    assert Runbook.objects.count() == 1
    assert Step.objects.count() == 2
    assert RunbookVersion.objects.count() == 1
    assert SourceDocument.objects.count() == 1


def test_a_path_and_its_base_name_are_the_same_source():
    store_document(document(runbook(), source="docs/runbooks/checkout.md"))
    store_document(document(runbook(), source="./checkout.md"))

    assert Runbook.objects.count() == 1
    assert SourceDocument.objects.get().name == "checkout.md"


def test_a_changed_document_records_a_new_version_with_the_change(admin_user):
    store_document(document(runbook()))
    changed = runbook(steps=[step("Look at the pods", "kubectl get pods -n <namespace> -o wide")])
    result = store_document(document(changed), by=admin_user)

    assert result.updated == ["Checkout latency high"]
    stored = Runbook.objects.get()
    assert stored.version == 2
    latest = stored.versions.get(number=2)
    assert latest.snapshot["steps"][0]["commands"][0]["text"] == "kubectl get pods -n <namespace> -o wide"
    assert len(latest.snapshot["steps"]) == 1
    assert stored.versions.get(number=1).snapshot["steps"][1]["text"] == "Restart it"
    assert Step.objects.count() == 1


def test_the_title_matches_whatever_its_case_and_spacing():
    store_document(document(runbook("Checkout latency high")))
    result = store_document(document(runbook("checkout   LATENCY high")))

    assert Runbook.objects.count() == 1
    assert result.updated == ["checkout   LATENCY high"]
    assert Runbook.objects.get().title == "checkout   LATENCY high"


def test_the_same_key_is_the_same_runbook_even_when_retitled():
    store_document(document(runbook("Pool exhausted", key="SOP-DB-1")))
    store_document(document(runbook("Connection pool exhausted", key="SOP-DB-1")))

    stored = Runbook.objects.get()
    assert (stored.key, stored.title, stored.version) == ("SOP-DB-1", "Connection pool exhausted", 2)


def test_two_runbooks_with_one_title_in_a_document_are_both_kept_with_a_warning():
    result = store_document(document(runbook("Disk full"), runbook("Disk full", steps=[step("Other")])))

    assert sorted(Runbook.objects.values_list("title", flat=True)) == ["Disk full", "Disk full (2)"]
    assert any("Disk full (2)" in w for w in result.warnings)
    assert store_document(document(runbook("Disk full"), runbook("Disk full", steps=[step("Other")]))).unchanged


def test_a_failure_in_the_middle_of_a_document_stores_nothing_of_it(monkeypatch):
    from runbooks import bulk

    calls = {"n": 0}
    real_insert = bulk.insert

    def failing_insert(objs):
        if objs and isinstance(objs[0], Command):
            calls["n"] += 1
            if calls["n"] == 2:  # the second runbook's commands
                raise RuntimeError("disk on fire")
        return real_insert(objs)

    monkeypatch.setattr(bulk, "insert", failing_insert)
    doc = document(runbook("First"), runbook("Second"), severity_levels=[ImportedSeverity(
        name="SEV1", rank=0, description="All down", response_minutes=5, examples=[])])
    with pytest.raises(RuntimeError):
        store_document(doc)

    assert not Runbook.objects.exists()
    assert not Step.objects.exists()
    assert not SeverityLevel.objects.exists()
    assert not SourceDocument.objects.exists()
    assert not Service.objects.exists()


def test_severity_contacts_and_escalation_are_stored_once_and_updated():
    levels = [ImportedSeverity(name="SEV1", rank=0, description="Down", response_minutes=5, examples=["Outage"]),
              ImportedSeverity(name="SEV4", rank=3, description="Cosmetic", response_minutes=None, examples=[])]
    contacts = [ImportedContact(name="Payments On-Call", role="Primary", email="pay@example.com", phone="+1-555",
                                handle="@pay", channel=None, via="PagerDuty"),
                ImportedContact(name="#war-room", role="Channel", email=None, phone=None, handle=None,
                                channel="#war-room", via=None)]
    escalation = [ImportedEscalation(severity="SEV1", notify=["Payments On-Call"], within_minutes=5,
                                     action="Page the on-call"),
                  ImportedEscalation(severity="SEV1", notify=["Dana"], within_minutes=15, action="Phone the manager"),
                  ImportedEscalation(severity="SEV4", notify=["Payments On-Call"], within_minutes=None,
                                     action="Next business day")]
    doc = document(source="matrix.md", severity_levels=levels, contacts=contacts, escalation=escalation)

    result = store_document(doc)
    assert (result.severity_levels, result.contacts, result.escalation_policies) == (2, 2, 2)
    assert str(result) == ("0 created, 0 updated, 0 unchanged; 2 severity levels, 2 contacts, 2 escalation policies; "
                           "1 warning")
    assert result.warnings == ["SEV1 escalation: Tier 2: nobody called “Dana” is in the contacts or rotations."]
    sev1 = SeverityLevel.objects.get(name="SEV1")
    assert (sev1.rank, sev1.response_minutes, sev1.examples) == (0, 5, ["Outage"])
    assert SeverityLevel.objects.get(name="SEV4").response_minutes is None
    oncall = Contact.objects.get(name="Payments On-Call")
    assert (oncall.email, oncall.via, oncall.kind) == ("pay@example.com", "PagerDuty", "person")
    assert Contact.objects.get(name="#war-room").kind == "channel"
    policy = EscalationPolicy.objects.get(name="SEV1 escalation")
    assert policy.severity == sev1
    tiers = list(policy.tiers.all())
    assert [(t.delay_minutes, t.notify_names, t.action) for t in tiers] == [
        (5, ["Payments On-Call"], "Page the on-call"), (15, ["Dana"], "Phone the manager")]
    assert list(tiers[0].contacts.all()) == [oncall]
    assert EscalationPolicy.objects.get(name="SEV4 escalation").tiers.get().delay_minutes is None

    levels[0].response_minutes = 10
    store_document(doc)
    assert SeverityLevel.objects.count() == 2 and Contact.objects.count() == 2
    assert SeverityLevel.objects.get(name="SEV1").response_minutes == 10
    assert EscalationPolicy.objects.count() == 2
    assert EscalationPolicy.objects.get(name="SEV1 escalation").tiers.count() == 2


def test_a_level_at_a_rank_the_matrix_already_has_becomes_an_alias_of_it():
    SeverityLevel.objects.create(name="Critical", rank=0)
    result = store_document(document(severity_levels=[
        ImportedSeverity(name="P0", rank=0, description="", response_minutes=15, examples=[])]))

    assert list(SeverityLevel.objects.values_list("name", "aliases")) == [("Critical", ["P0"])]
    assert result.severity_decisions == ["P0: an alias of Critical (same rank: level 1 of the scale)"]


def test_text_longer_than_a_column_is_cut_rather_than_refused():
    long_title = "Latency " * 100
    store_document(document(runbook(long_title, key="K" * 300, severity="High " * 50)))

    stored = Runbook.objects.get()
    assert len(stored.title) == 300 and len(stored.key) == 100 and len(stored.severity_text) <= 100


def test_a_preview_says_what_would_change_and_stores_nothing():
    store_document(document(runbook("Existing")))
    result = preview_document(document(runbook("Existing"), runbook("New one")))

    assert result.created == ["New one"] and result.unchanged == ["Existing"]
    assert list(Runbook.objects.values_list("title", flat=True)) == ["Existing"]


def test_parser_warnings_are_kept_on_the_source_document():
    result = store_document(document(runbook(), warnings=["a table without a header was skipped"]))

    assert result.warnings == ["a table without a header was skipped"]
    assert SourceDocument.objects.get().warnings == ["a table without a header was skipped"]
    assert str(result).endswith("; 1 warning")


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"\xef\xbb\xbf \n\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("# Runbook\n".encode("utf-16"), None),
    (b"# Runbook\n- check it", None),
])
def test_unreadable_bytes_are_named(data, reason):
    found = unreadable_reason(data)
    assert (found is None) if reason is None else (reason in found)


def test_a_contact_known_only_by_its_role_is_stored_under_that_role():
    result = store_document(document(contacts=[ImportedContact(name=None, role="Security Team",
                                                               email="sec@example.com")]))

    assert result.contacts == 1
    contact = Contact.objects.get()
    assert (contact.name, contact.kind, contact.email) == ("Security Team", "team", "sec@example.com")


def test_a_contact_known_only_by_a_handle_or_an_address_is_stored_under_it():
    result = store_document(document(contacts=[
        ImportedContact(name=None, role=None, handle="@storage-team", via="Slack"),
        ImportedContact(name=None, role=None, email="oncall@example.com", via="email"),
    ]))

    assert result.contacts == 2
    assert sorted(Contact.objects.values_list("name", "handle", "email")) == [
        ("@storage-team", "@storage-team", ""), ("oncall@example.com", "", "oncall@example.com")]
