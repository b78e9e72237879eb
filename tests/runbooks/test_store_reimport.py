"""Storing again keeps what people decided, and one severity matrix serves every document."""

from __future__ import annotations

import pytest
from django.db import transaction

from runbooks.importer.types import ImportedSeverity
from runbooks.models import Command, Runbook, RunbookVersion, Service, SeverityLevel, Step
from runbooks.severity_aliases import reconcile
from runbooks.store import ImportLimitError, check_limits, preview_document, store_document
from tests.runbooks.test_store import document, runbook, step

pytestmark = pytest.mark.django_db


def levels(*names):
    return [ImportedSeverity(name=name, rank=n, description=f"{name} level") for n, name in enumerate(names)]


# --- admin decisions survive a re-import -----------------------------------------------------------------


def _edit_in_admin(runbook_obj, change) -> None:
    with transaction.atomic():
        change()
        Runbook.objects.get(pk=runbook_obj.pk).record_version(note="edited in admin")


def test_a_destructive_override_a_phase_and_a_service_chosen_by_an_admin_survive_a_reimport():
    store_document(document(runbook()))
    rb = Runbook.objects.get()
    restart = Command.objects.get(text__startswith="kubectl rollout restart")

    def change():
        Command.objects.filter(pk=restart.pk).update(destructive_override=False, needs_approval=True)
        Step.objects.filter(text="Look at the pods").update(phase="triage")
        Runbook.objects.filter(pk=rb.pk).update(service=Service.objects.create(name="payments"))

    _edit_in_admin(rb, change)

    result = store_document(document(runbook()))

    assert result.unchanged == ["Checkout latency high"]
    restart = Command.objects.get(text__startswith="kubectl rollout restart")
    assert (restart.destructive_override, restart.needs_approval) == (False, True)
    assert Step.objects.get(text="Look at the pods").phase == "triage"
    assert Runbook.objects.get().service.name == "payments"


def test_a_changed_document_makes_a_version_whose_diff_is_only_what_the_document_changed():
    store_document(document(runbook()))
    rb = Runbook.objects.get()
    _edit_in_admin(rb, lambda: Step.objects.filter(text="Look at the pods").update(phase="triage"))

    changed = runbook(steps=[
        step("Look at the pods", "kubectl get pods -n <namespace>"),
        step("Restart it", "kubectl rollout restart deploy/checkout -n <namespace>", phase="mitigation"),
        step("Check the queue", "kubectl logs deploy/queue -n <namespace>"),
    ])
    result = store_document(document(changed))

    assert result.updated == ["Checkout latency high"]
    assert any("phase triage of 'Look at the pods'" in kept for kept in result.kept)
    before, after = (v.snapshot for v in RunbookVersion.objects.filter(runbook=rb).order_by("-number")[:2][::-1])
    assert [s["phase"] for s in after["steps"][:2]] == [s["phase"] for s in before["steps"][:2]]  # triage kept
    assert after["steps"][:2] == before["steps"][:2]
    assert [s["text"] for s in after["steps"][2:]] == ["Check the queue"]


def test_a_service_the_document_changes_follows_the_document_when_no_admin_chose_one():
    store_document(document(runbook(service="checkout-api")))
    store_document(document(runbook(service="checkout-v2")))

    assert Runbook.objects.get().service.name == "checkout-v2"


# --- limits and bulk storing ----------------------------------------------------------------------------


def test_limits_name_the_setting_and_store_nothing(settings):
    settings.IMPORT_MAX_RUNBOOKS = 1
    doc = document(runbook("One"), runbook("Two"))

    with pytest.raises(ImportLimitError, match=r"holds 2 runbooks.*at most 1 \(IMPORT_MAX_RUNBOOKS\)"):
        store_document(doc)
    with pytest.raises(ImportLimitError):
        check_limits(doc)
    assert not Runbook.objects.exists()


def _queries_to_store(n: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    big = runbook(f"Big {n}", steps=[step(f"Step {i}", f"echo {i}") for i in range(n)])
    with CaptureQueriesContext(connection) as captured:
        store_document(document(big, source=f"big-{n}.md"))
    return len(captured)


def test_steps_and_commands_are_stored_with_bulk_inserts_not_a_query_each():
    small, big = _queries_to_store(100), _queries_to_store(3000)

    # more insert batches (SQLite takes fewer rows per statement than PostgreSQL), never a query per step
    assert big - small < (3000 - 100) // 50
    assert Step.objects.filter(runbook__title="Big 3000").count() == 3000
    assert Command.objects.filter(step__runbook__title="Big 3000", destructive=False).count() == 3000


# --- one severity matrix ----------------------------------------------------------------------------------


def test_three_scales_make_one_matrix_of_four_levels_with_aliases():
    store_document(document(source="p.md", severity_levels=levels("P0", "P1", "P2", "P3")))
    result = store_document(document(source="sev.md", severity_levels=levels("SEV1", "SEV2", "SEV3", "SEV4")))
    store_document(document(source="words.md", severity_levels=levels("Critical", "High", "Medium", "Low")))

    matrix = list(SeverityLevel.objects.values_list("name", "aliases"))
    assert matrix == [
        ("P0", ["SEV1", "Critical"]), ("P1", ["SEV2", "High"]),
        ("P2", ["SEV3", "Medium"]), ("P3", ["SEV4", "Low"]),
    ]
    assert result.severity_decisions[0] == "SEV1: an alias of P0 (same rank: level 1 of the scale)"


def test_a_level_is_matched_by_meaning_before_rank_and_the_decision_is_stable():
    store_document(document(source="words.md", severity_levels=levels("Critical", "High", "Medium", "Low")))

    first = store_document(document(source="two.md", severity_levels=levels("Major", "Minor")))
    again = store_document(document(source="two.md", severity_levels=levels("Major", "Minor")))

    assert first.severity_decisions == [
        "Major: an alias of High (same meaning)", "Minor: an alias of Low (same meaning)",
    ]
    assert again.severity_decisions == [] and SeverityLevel.objects.count() == 4
    assert SeverityLevel.lookup("major").name == "High" and SeverityLevel.lookup("MINOR").name == "Low"


def test_a_longer_scale_adds_levels_only_past_the_end_of_the_matrix():
    store_document(document(source="a.md", severity_levels=levels("SEV1", "SEV2")))
    result = store_document(document(source="b.md", severity_levels=levels("P1", "P2", "P3")))

    assert list(SeverityLevel.objects.values_list("name", "rank")) == [("SEV1", 0), ("SEV2", 1), ("P3", 2)]
    assert result.severity_decisions[-1] == "P3: a new level at rank 2 (the matrix has no level this far down)"


def test_the_preview_shows_the_severity_decisions_and_stores_nothing():
    store_document(document(source="a.md", severity_levels=levels("SEV1", "SEV2")))

    result = preview_document(document(source="b.md", severity_levels=levels("P1", "P2")))

    assert result.severity_decisions == [
        "P1: an alias of SEV1 (same rank: level 1 of the scale)",
        "P2: an alias of SEV2 (same rank: level 2 of the scale)",
    ]
    assert SeverityLevel.objects.get(name="SEV1").aliases == []


def test_reconcile_is_pure_and_names_spelt_differently_are_the_same_level():
    class Level:
        def __init__(self, name, rank, aliases=()):
            self.name, self.rank, self.aliases = name, rank, list(aliases)

    existing = [Level("SEV1", 0), Level("SEV2", 1, ["P1"])]
    decisions = reconcile(levels("Sev 1", "p1"), existing)

    assert [(d.action, d.level.name) for d in decisions] == [("same", "SEV1"), ("same", "SEV2")]
    assert existing[1].aliases == ["P1"]

