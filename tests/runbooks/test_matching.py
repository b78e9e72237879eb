"""match_runbooks: alert names, error patterns, service labels and words, best first, with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.matching import alert_key, match_runbooks
from runbooks.models import Runbook
from tests.conftest import need
from tests.factories import make_runbook, make_service

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(db):
    checkout = make_service("checkout-api")
    payments = make_service("payments")
    return {
        "latency": make_runbook("Checkout latency high", service=checkout, alerts=["CheckoutLatencyHigh"]),
        "errors": make_runbook("Checkout 5xx errors", service=checkout, alerts=["CheckoutErrorRate"],
                               patterns=["upstream connect error"]),
        "db": make_runbook("Database refuses connections", alerts=["PostgresDown"],
                           patterns=["connection refused", "FATAL: remaining connection slots are reserved"],
                           steps=[("investigation", "Check pg_stat_activity for idle sessions", [])]),
        "payments": make_runbook("Payment provider timeouts", service=payments,
                                 steps=[("detection", "Watch the p99 latency of the payment provider", [])]),
    }


def titles(matches):
    return [m.runbook.title for m in matches]


def test_an_exact_alert_name_ranks_its_runbook_first_and_says_why(library):
    matches = match_runbooks("CheckoutLatencyHigh")
    assert matches[0].runbook == library["latency"]
    assert "alert name CheckoutLatencyHigh" in matches[0].reasons


@pytest.mark.parametrize("spelling", ["checkoutlatencyhigh", "CHECKOUTLATENCYHIGH", "Checkout Latency High",
                                      "checkout_latency_high", "  CheckoutLatencyHigh\n"])
def test_alert_names_match_in_any_case_and_as_words(library, spelling):
    matches = match_runbooks(spelling)
    assert matches[0].runbook == library["latency"]
    assert matches[0].reasons[0] == "alert name CheckoutLatencyHigh"


def test_exact_spelling_scores_above_a_case_variant(library):
    exact = match_runbooks("CheckoutLatencyHigh")[0].score
    lower = match_runbooks("checkoutlatencyhigh")[0].score
    assert exact > lower > 0


def test_the_alertname_label_and_the_service_label_both_count(library):
    matches = match_runbooks("", labels={"alertname": "CheckoutErrorRate", "service": "checkout-api"})
    assert matches[0].runbook == library["errors"]
    assert matches[0].reasons[:2] == ["alert name CheckoutErrorRate", "service checkout-api"]
    # The other checkout runbook still shows, for its service, below.
    assert library["latency"] in [m.runbook for m in matches[1:]]
    assert "service checkout-api" in matches[titles(matches).index("Checkout latency high")].reasons


def test_an_error_pattern_inside_a_pasted_log_line_is_found_whatever_its_case_and_spacing(library):
    line = '2026-01-10T12:00:01Z app[web.1]: dial tcp 10.0.0.5:5432: connect:  CONNECTION\n  Refused (retrying)'
    matches = match_runbooks(line)
    assert matches[0].runbook == library["db"]
    assert "error pattern “connection refused” found in your text" in matches[0].reasons


def test_an_alert_name_inside_a_longer_alert_text_is_still_the_strongest_signal(library):
    text = "[FIRING:1] CheckoutErrorRate (checkout-api critical) upstream latency p99 high"
    assert match_runbooks(text)[0].runbook == library["errors"]


def test_free_text_ranks_by_shared_words_and_names_them(library):
    matches = match_runbooks("payment provider p99 latency")
    assert matches[0].runbook == library["payments"]
    words_reason = next(r for r in matches[0].reasons if r.startswith("words: "))
    assert "payment" in words_reason and "p99" in words_reason


def test_limit_and_queryset_narrow_the_results(library):
    assert len(match_runbooks("checkout", limit=1)) == 1
    only_db = Runbook.objects.filter(pk=library["db"].pk)
    assert titles(match_runbooks("CheckoutLatencyHigh connection refused", queryset=only_db)) == [
        "Database refuses connections"]


@pytest.mark.parametrize("query", ["", "   ", "zzqx nothing-like-this", "'\"&<>\\", "%_%", "a" * 30000,
                                   "(unbalanced & | !", "\x00"])
def test_odd_or_empty_input_gives_a_list_not_an_error(library, query):
    result = match_runbooks(query.replace("\x00", ""))
    assert isinstance(result, list)
    assert all(m.score > 0 for m in result)


def test_matching_runs_a_bounded_number_of_queries(library, django_assert_max_num_queries):
    for n in range(30):
        make_runbook(f"Filler {n} checkout", alerts=[f"Filler{n}"], patterns=[f"filler error {n}"])
    with django_assert_max_num_queries(6):
        matches = match_runbooks("CheckoutLatencyHigh filler error 3 checkout", labels={"service": "checkout-api"})
    assert matches[0].runbook == library["latency"]


@pytest.mark.integration
def test_postgres_matching_is_one_query_and_a_common_word_does_not_crowd_out_the_best(
        library, postgres, django_assert_max_num_queries, monkeypatch):
    import runbooks.matching

    for n in range(20):
        make_runbook(f"Filler {n}", steps=[("other", "payment payment payment retries", [])])
    monkeypatch.setattr(runbooks.matching, "TEXT_SCAN", 5)  # rank only 5 of the 21 rows that share a word
    with django_assert_max_num_queries(1):
        matches = match_runbooks("payment provider p99 latency")
    assert matches[0].runbook == library["payments"]  # found through its title


def test_alert_key_ignores_case_and_separators():
    assert alert_key("Checkout Latency-High") == alert_key("checkout_latency_high") == "checkoutlatencyhigh"


# --- the seed documents ---------------------------------------------------------------------------


def _import_seeds():
    from runbooks.importer import parse_document
    from runbooks.store import store_document

    for path in sorted(SEEDS.glob("*.txt")):
        store_document(parse_document(path.read_bytes(), source=path.name))


def test_every_seed_runbook_with_an_alert_or_error_pattern_is_found_first_by_it(db):
    need(SEEDS.is_dir(), f"{SEEDS} (the seed documents) is absent")
    try:
        _import_seeds()
    except ImportError as exc:
        need(False, f"the importer is not there yet: {exc}")
    runbooks = list(Runbook.objects.all())
    assert runbooks, "the seeds gave no runbooks"
    wrong = []
    checked = 0
    for runbook in runbooks:
        for name in runbook.alerts:
            checked += 1
            top = match_runbooks(name, limit=3)
            if not top or (top[0].runbook != runbook and name not in top[0].runbook.alerts):
                wrong.append(f"alert {name!r}: {titles(top)} instead of {runbook.title!r}")
        for pattern in runbook.error_patterns:
            checked += 1
            top = match_runbooks(f"ERROR worker-3: {pattern} (after 3 retries)", limit=3)
            if not top or (top[0].runbook != runbook and pattern not in top[0].runbook.error_patterns):
                wrong.append(f"pattern {pattern!r}: {titles(top)} instead of {runbook.title!r}")
    assert checked >= 5
    assert not wrong, "\n".join(wrong)


@pytest.mark.integration
def test_postgres_free_text_is_ranked_among_the_rows_sharing_a_word_and_within_a_narrowed_queryset(
        library, postgres, monkeypatch):
    import runbooks.matching

    for n in range(8):
        make_runbook(f"Filler {n}", steps=[("other", "spool rotation spool", [])])
    best = make_runbook("Spool rotation stuck", steps=[("other", "spool rotation spool rotation", [])])
    monkeypatch.setattr(runbooks.matching, "TEXT_SCAN", 50)
    assert match_runbooks("spool rotation")[0].runbook == best
    narrowed = Runbook.objects.filter(title__startswith="Filler")
    found = match_runbooks("spool rotation", queryset=narrowed)
    assert found and all(m.runbook.title.startswith("Filler") for m in found)
