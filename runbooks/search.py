"""Runbook search: PostgreSQL full-text search with ranking, a plain LIKE search on SQLite.

On PostgreSQL, migration 0002 keeps a stored generated column `search_vector` =
to_tsvector('english', COALESCE(search_text, '')) with a GIN index; queries use the same config.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import Expression

from runbooks.models import Runbook

SEARCH_CONFIG = "english"
MAX_QUERY_LENGTH = 200


class StoredSearchVector(Expression):
    """runbooks_runbook.search_vector under whatever alias the query gives the table (U0 inside a subquery)."""

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.{connection.ops.quote_name('search_vector')}", []


def search_vector() -> StoredSearchVector:
    """The stored, GIN-indexed tsvector column (PostgreSQL only; not in the model because SQLite lacks it)."""
    return StoredSearchVector()


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


def search_runbooks(q: str, *, service: str | None = None, alert: str | None = None) -> QuerySet:
    """Runbooks matching a websearch-style query ("disk full" -nginx), best first, optionally by service and alert.

    An empty query lists everything by title. On PostgreSQL the results carry `rank`.
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
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        return (
            queryset.alias(search=search_vector())
            .filter(search=query)
            .annotate(rank=SearchRank(search_vector(), query))
            .order_by("-rank", "title", "pk")
        )
    words = [w for w in q.replace('"', " ").split() if w and not w.startswith("-") and w.lower() != "or"]
    condition = Q()
    in_title = Q()
    for word in words or [q]:
        condition &= Q(search_text__icontains=word) | Q(title__icontains=word)
        in_title &= Q(title__icontains=word)
    # Without ranking, runbooks whose title has every word come first.
    title_first = Case(When(in_title, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.filter(condition).alias(title_first=title_first).order_by("title_first", "title", "pk")
