"""search_runbooks: full-text with ranking on PostgreSQL (through the GIN index), LIKE on SQLite."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from runbooks.search import search_runbooks
from tests.factories import make_runbook, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(db):
    checkout = make_service("checkout-api")
    return {
        "disk": make_runbook("Disk full on a node", alerts=["NodeDiskPressure"],
                             steps=[("mitigation", "Delete old container logs to free disk space", [])]),
        "latency": make_runbook("Checkout latency high", service=checkout, alerts=["CheckoutLatencyHigh"]),
        "errors": make_runbook("Checkout error rate", service=checkout, alerts=["CheckoutErrorRate"],
                               steps=[("triage", "Look at the disk of the database host", [])]),
    }


def titles(queryset):
    return [r.title for r in queryset]


def test_words_find_runbooks_by_title_and_steps(library):
    assert titles(search_runbooks("disk"))[0] == "Disk full on a node"
    assert set(titles(search_runbooks("disk"))) == {"Disk full on a node", "Checkout error rate"}
    assert titles(search_runbooks("latency")) == ["Checkout latency high"]


def test_filters_by_service_and_alert(library):
    assert set(titles(search_runbooks("", service="checkout-api"))) == {"Checkout latency high", "Checkout error rate"}
    assert titles(search_runbooks("", alert="CheckoutErrorRate")) == ["Checkout error rate"]
    assert titles(search_runbooks("disk", service="checkout-api")) == ["Checkout error rate"]
    assert titles(search_runbooks("", service="no-such-service")) == []
    assert titles(search_runbooks("", alert="NoSuchAlert")) == []


def test_an_empty_query_lists_everything_by_title(library):
    assert titles(search_runbooks("   ")) == sorted(r.title for r in library.values())


@pytest.mark.parametrize("q", ["'\"&<>\\", "x" * 400, "disk OR", "-", '"unclosed', "a & b | !c", "%", "()"])
def test_odd_queries_do_not_fail(library, q):
    assert isinstance(list(search_runbooks(q)), list)


@pytest.mark.integration
def test_postgres_ranks_and_understands_websearch_syntax(library, postgres):
    results = list(search_runbooks("disk"))
    assert results[0].title == "Disk full on a node"  # title and step both say disk
    assert results[0].rank >= results[-1].rank
    assert titles(search_runbooks("disk -checkout")) == ["Disk full on a node"]
    assert titles(search_runbooks('"free disk space"')) == ["Disk full on a node"]
    assert titles(search_runbooks("disks")) != []  # English stemming


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.integration
def test_postgres_can_use_the_gin_indexes(library, postgres):
    for n in range(50):
        make_runbook(f"Filler {n}", steps=[("other", f"nothing to see {n}", [])])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE runbooks_runbook")
        # With plain scans priced out, the plan names the GIN index exactly when the query's expression fits it.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_indexscan = off")
    try:
        text_plan = _plan(search_runbooks("disk"))
        alert_plan = _plan(search_runbooks("", alert="CheckoutErrorRate"))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_indexscan")
    assert "runbook_search_vector_gin" in text_plan, text_plan
    assert "runbook_alerts_gin" in alert_plan, alert_plan


# --- bounded ranking and the capped count -----------------------------------------------------------


def test_a_title_match_comes_before_runbooks_that_only_mention_the_word(db):
    make_runbook("Restart the workers", steps=[("mitigation", "Drain the queue, then the queue again", [])])
    make_runbook("Queue backlog growing", steps=[("triage", "Check the consumers", [])])
    assert titles(search_runbooks("queue"))[0] == "Queue backlog growing"


@pytest.mark.parametrize("cap, expected", [(3, "3+ runbooks match"), (10, "5 runbooks match")])
def test_the_list_counts_up_to_a_cap_and_says_so(client, viewer, db, monkeypatch, cap, expected):
    import runbooks.search

    for n in range(5):
        make_runbook(f"Disk check {n}")
    monkeypatch.setattr(runbooks.search, "RESULT_CAP", cap)
    client.force_login(viewer)
    html = client.get(reverse("runbooks:list"), {"q": "disk"}).content.decode()
    assert expected in html
    assert ("add words to narrow the search" in html) == (cap < 5)
    assert html.count("Disk check") == min(cap, 5)  # the pages hold as many as the count says


def test_the_paginator_never_pages_past_the_cap(db):
    from runbooks.search import SearchPaginator

    for n in range(7):
        make_runbook(f"Disk check {n}")
    paginator = SearchPaginator(search_runbooks("disk"), 2, cap=5)
    assert (paginator.count, paginator.capped, paginator.count_label, paginator.num_pages) == (5, True, "5+", 3)
    exact = SearchPaginator(search_runbooks("disk"), 2, cap=50)
    assert (exact.count, exact.capped, exact.count_label) == (7, False, "7")


@pytest.mark.integration
def test_postgres_ranks_a_bounded_candidate_set_yet_finds_the_title_match(db, postgres, monkeypatch):
    import runbooks.search

    for n in range(12):
        make_runbook(f"Filler {n}", steps=[("other", "look at the disk, the disk and the disk", [])])
    make_runbook("Disk full on a node")
    monkeypatch.setattr(runbooks.search, "RESULT_CAP", 4)
    results = list(search_runbooks("disk"))
    assert results[0].title == "Disk full on a node"  # found through the title index, beyond the first 5 rows
    assert len(results) <= 4 + 1 + 1


def test_past_two_hundred_matches_the_list_says_200_plus(db):
    from runbooks.search import RESULT_CAP, SearchPaginator

    assert RESULT_CAP == 200  # ranking 1,000 rows cost 10 ms a search at 10,000 runbooks (bench/bench_search.py)
    paginator = SearchPaginator(search_runbooks("disk"), 25)
    assert paginator.count_label == "0"


@pytest.mark.integration
def test_postgres_a_renamed_runbook_is_a_title_match_at_once(db, postgres):
    make_runbook("Disk full on a node")
    renamed = make_runbook("Restart the workers", steps=[("other", "the queue, the queue and the queue", [])])
    make_runbook("Queue backlog", steps=[("other", "look", [])])
    renamed.title = "Queue workers restart"
    renamed.save()
    renamed.refresh_search_text()
    results = list(search_runbooks("queue"))
    assert [r.title_hit for r in results] == [True, True]  # the stored title vector follows the title
    assert results[0].title == "Queue workers restart"  # title match, and more mentions of the word
    assert titles(search_runbooks('"workers restart" -backlog')) == ["Queue workers restart"]
