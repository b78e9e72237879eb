"""Runbook search: PostgreSQL full-text search with ranking, a plain LIKE search on SQLite.

On PostgreSQL, migration 0002 keeps a stored generated column `search_vector` =
to_tsvector('english', COALESCE(search_text, '')) with a GIN index; migration 0004 keeps the title's own
tsvector the same way (`title_vector`). Queries use the same config, so both indexes serve them, and neither
ranking nor telling title matches first parses any text again.

A common word can match most of the library, and ranking reads every row it ranks. So only a bounded set of
candidates is ranked: every runbook whose title matches (up to RESULT_CAP, through the title index) plus the
first RESULT_CAP + 1 runbooks whose text matches. Title matches come first, then the rest by rank. When more
than RESULT_CAP runbooks match, the list says "200+" (SearchPaginator) and the person narrows the query;
the body-only matches past the cap are then ranked among an arbitrary RESULT_CAP of them, not all.
RESULT_CAP was 1,000: EXPLAIN (ANALYZE) at 10,000 runbooks showed fetching and ranking 1,000 rows costing
10 ms of a 15 ms query, for pages nobody reads (bench/bench_search.py with BENCH_EXPLAIN=1).
"""

from __future__ import annotations

from functools import cached_property

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import BooleanField, Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import Expression, ExpressionWrapper

from runbooks.models import Runbook

SEARCH_CONFIG = "english"
MAX_QUERY_LENGTH = 200
RESULT_CAP = 200  # past this many matches the list says "200+" and ranks a bounded candidate set


class StoredVector(Expression):
    """A stored tsvector column of runbooks_runbook under whatever alias the query gives the table (U0 inside a
    subquery)."""

    output_field = SearchVectorField()

    def __init__(self, column: str):
        super().__init__()
        self.column = column

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.{connection.ops.quote_name(self.column)}", []


def search_vector() -> StoredVector:
    """The stored, GIN-indexed tsvector of search_text (PostgreSQL only; not in the model: SQLite lacks it)."""
    return StoredVector("search_vector")


def title_vector() -> StoredVector:
    """The stored, GIN-indexed tsvector of the title (migration 0004; PostgreSQL only)."""
    return StoredVector("title_vector")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def clean_query(q: str | None) -> str:
    """Strip the query and cut it to a sane length (a pasted stack trace is not a search)."""
    return " ".join((q or "").split())[:MAX_QUERY_LENGTH]


def filter_alert(queryset: QuerySet, alert: str) -> QuerySet:
    """Runbooks that answer this alert name exactly (JSONB containment on PostgreSQL, uses the alerts GIN index)."""
    if is_postgres():
        return queryset.filter(alerts__contains=[alert])
    # SQLite has no JSON containment: narrow with LIKE, then check the list itself.
    ids = [pk for pk, alerts in queryset.filter(alerts__icontains=alert).values_list("pk", "alerts")
           if isinstance(alerts, list) and alert in alerts]
    return queryset.filter(pk__in=ids)


def _postgres_search(queryset: QuerySet, q: str) -> QuerySet:
    query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
    matches = queryset.alias(search=search_vector()).filter(search=query)
    # Two bounded sets of ids, each read through its GIN index: runbooks whose title matches, and the first
    # RESULT_CAP + 1 that match at all (one more than the cap, so the count can tell "more than the cap").
    in_title = matches.alias(title_search=title_vector()).filter(title_search=query).order_by().values("pk")
    anywhere = matches.order_by().values("pk")
    candidates = in_title[:RESULT_CAP].union(anywhere[:RESULT_CAP + 1])
    # The title test reads the candidate's stored title vector: no second pass over the title index.
    title_hit = ExpressionWrapper(Q(title_search=query), output_field=BooleanField())
    return (
        Runbook.objects.select_related("service")
        .filter(pk__in=candidates)
        .alias(title_search=title_vector())
        .annotate(title_hit=title_hit, rank=SearchRank(search_vector(), query))
        .order_by("-title_hit", "-rank", "title", "pk")
    )


def search_runbooks(q: str, *, service: str | None = None, alert: str | None = None) -> QuerySet:
    """Runbooks matching a websearch-style query ("disk full" -nginx), best first, optionally by service and alert.

    An empty query lists everything by title. Runbooks whose title matches come first. On PostgreSQL the
    results carry `rank` and only a bounded candidate set is ranked (see the module's docstring): count them
    with SearchPaginator, which stops counting past RESULT_CAP.
    """
    q = clean_query(q)
    queryset = Runbook.objects.select_related("service")
    if service:
        queryset = queryset.filter(service__name=service)
    if alert:
        queryset = filter_alert(queryset, alert)
    if not q:
        return queryset.order_by("title", "pk")
    if is_postgres():
        return _postgres_search(queryset, q)
    words = [w for w in q.replace('"', " ").split() if w and not w.startswith("-") and w.lower() != "or"]
    condition = Q()
    in_title = Q()
    for word in words or [q]:
        condition &= Q(search_text__icontains=word) | Q(title__icontains=word)
        in_title &= Q(title__icontains=word)
    # Without ranking, runbooks whose title has every word come first.
    title_first = Case(When(in_title, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.filter(condition).alias(title_first=title_first).order_by("title_first", "title", "pk")


class SearchPaginator(Paginator):
    """Pages of search results that count at most RESULT_CAP + 1 rows: past the cap the page says "200+".

    Counting every match of a common word costs as much as ranking them all; nobody pages past the cap.
    """

    def __init__(self, object_list, per_page, *, cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = RESULT_CAP if cap is None else cap

    @cached_property
    def _counted(self) -> int:
        # Only the ids: ranking, the title test and the service join cost nothing a count needs.
        return self.object_list.order_by().values("pk")[:self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """True when more runbooks match than the pages show."""
        return self._counted > self.cap

    @property
    def count_label(self) -> str:
        """"200+" past the cap, else the exact count, with thousands separators."""
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"
