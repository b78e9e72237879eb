"""Response metrics over incidents: time to acknowledge, mitigate and resolve, as median and p90 per severity or
per service, by week or month, with response-time compliance and the incidents whose milestones were edited.

One query reads the incidents of the date range, with their durations computed by the database in whole seconds
(and one more the few whose milestones were corrected); everything else is Python over those rows.
Definitions (shown on the page) live here beside the code that applies them.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Max, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone

from runbooks.models import SeverityLevel

from .models import Incident
from .models.milestones import BY_KEY, DURATIONS, MILESTONES

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
WEEKLY_UP_TO_DAYS = 26 * 7
NO_SERVICE = "No service"
GROUPINGS = {"severity": "Severity", "service": "Service"}

DEFINITIONS = [
    ("Time to acknowledge (TTA)", "From impact started to acknowledged: the Acknowledge button, an acknowledged "
                                  "page, or the first status change."),
    ("Time to mitigate (TTM)", "From impact started to mitigated: the move to Mitigated, or the resolve when the "
                               "incident never passed through Mitigated."),
    ("Time to resolve (TTR)", "From impact started to resolved."),
    ("Impact started", "Defaults to the declare time, or the first alert's startsAt; commanders may correct it."),
    ("Median", "Half of the incidents took less, half took more (the middle value; the mean of the two middle "
               "values for an even count). Means are not shown: one long incident would hide the rest."),
    ("p90", "Nine in ten incidents took at most this long (nearest rank: the ⌈0.9 × n⌉-th smallest value)."),
    ("In time (compliance)", "Share of incidents whose time was within their severity's response time. An "
                             "incident that has not reached the milestone counts as missed once its response time "
                             "has run out, and is left out before that; severities without a response time are left "
                             "out."),
    ("Edited", "Incidents with a milestone a commander corrected after the fact (marked ✎); they count like the "
               "others."),
    ("Which incidents", "Those declared within the date range (the end date included)."),
]

@dataclass
class Filters:
    start: date
    end: date
    by: str = "severity"
    problems: list[str] = field(default_factory=list)

    @property
    def weekly(self) -> bool:
        return (self.end - self.start).days <= WEEKLY_UP_TO_DAYS

    def query(self) -> str:
        return f"start={self.start.isoformat()}&end={self.end.isoformat()}&by={self.by}"


def _date(text: str, name: str, problems: list[str]) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"“{text[:40]}” is not a date for the {name} (use YYYY-MM-DD); the default is used.")
        return None


def parse_filters(params, today: date | None = None) -> Filters:
    today = today or timezone.localdate()
    problems: list[str] = []
    end = _date(params.get("end", ""), "end", problems) or today
    start = _date(params.get("start", ""), "start", problems) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        problems.append("The start was after the end; they were swapped.")
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        problems.append(f"A range is at most {MAX_DAYS} days; the start was moved.")
        start = end - timedelta(days=MAX_DAYS)
    by = params.get("by", "severity")
    if by not in GROUPINGS:
        problems.append(f"“{by[:40]}” is not a grouping (severity or service); grouped by severity.")
        by = "severity"
    return Filters(start=start, end=end, by=by, problems=problems)


@dataclass(slots=True)
class Row:
    """One incident, reduced to what the metrics need."""

    id: int
    title: str
    status: str
    declared_epoch: int
    severity: str
    rank: int
    service: str
    allowed: int | None  # seconds
    times: dict[str, int | None]  # tta/ttm/ttr seconds
    waited: int  # seconds from impact started to now (for unreached milestones)
    edited: list[str] = field(default_factory=list)

    @property
    def declared_at(self) -> datetime:
        return datetime.fromtimestamp(self.declared_epoch, UTC)

    @property
    def edited_labels(self) -> str:
        return ", ".join(BY_KEY[k].label.lower() for k in self.edited)


def _edited(edits, values: dict[str, datetime | None]) -> list[str]:
    """The milestones whose correction still stands (the time shown is the corrected one)."""
    if not edits or not isinstance(edits, dict):
        return []
    found = []
    for key, edit in edits.items():
        milestone = BY_KEY.get(key)
        current = values.get(milestone.field) if milestone else None
        try:
            if current is not None and datetime.fromisoformat(edit["at"]) == current:
                found.append(key)
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _sql_seconds() -> tuple[str, str]:
    """SQL for seconds between two timestamps, and for a timestamp's Unix time, in this database's dialect.

    Durations come out of the database as whole seconds: reading five timestamps for each of 10,000 incidents
    and parsing them in Python cost most of the page's time.
    """
    if connection.vendor == "postgresql":
        return "EXTRACT(EPOCH FROM ({a}) - ({b}))::bigint", "EXTRACT(EPOCH FROM ({a}))::bigint"
    return ("CAST(ROUND((julianday({a}) - julianday({b})) * 86400) AS INTEGER)",
            "CAST(ROUND((julianday({a}) - 2440587.5) * 86400) AS INTEGER)")


def _bounds(filters: Filters) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (datetime.combine(filters.start, time.min, tzinfo=zone),
            datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=zone))


def fingerprint(filters: Filters) -> str:
    """What the report of this range is made of, in two small queries: every change to an incident bumps its
    revision and updated_at (Incident._bump), a new or deleted one moves the count and the sum of ids, and the
    severities' response times and ranks decide compliance and order. The page cache keys the metrics page by
    it (with the minute, for the clocks of milestones not reached yet)."""
    since, until = _bounds(filters)
    marks = Incident.objects.filter(declared_at__gte=since, declared_at__lt=until).aggregate(
        changed=Max("updated_at"), n=Count("id"), revisions=Sum("revision"), ids=Sum("id"))
    levels = list(SeverityLevel.objects.order_by("pk").values_list("pk", "name", "rank", "response_minutes"))
    return hashlib.blake2s(repr((sorted(marks.items()), levels)).encode(), digest_size=8).hexdigest()


def load(filters: Filters) -> list[Row]:
    """The incidents declared in the range: one query, and one more for the few with corrected milestones."""
    since, until = _bounds(filters)
    table = connection.ops.quote_name(Incident._meta.db_table)

    def col(name: str) -> str:
        return f"{table}.{connection.ops.quote_name(name)}"

    between, epoch = _sql_seconds()
    start = f"COALESCE({col('impact_started_at')}, {col('declared_at')})"
    reached = {"acknowledged": col("acknowledged_at"),
               "mitigated": f"COALESCE({col('mitigated_at')}, {col('resolved_at')})", "resolved": col("resolved_at")}
    in_range = Incident.objects.filter(declared_at__gte=since, declared_at__lt=until)
    now = int(timezone.now().timestamp())
    rows: dict[int, Row] = {}
    for values in in_range.order_by("declared_at", "pk").annotate(
            declared_s=RawSQL(epoch.format(a=col("declared_at")), []),
            start_s=RawSQL(epoch.format(a=start), []),
            **{f"{d.key}_s": RawSQL(between.format(a=reached[d.to], b=start), []) for d in DURATIONS},
    ).values_list("id", "title", "status", "declared_s", "start_s", "severity__name", "severity__rank",
                  "severity__response_minutes", "service__name", *[f"{d.key}_s" for d in DURATIONS]):
        # Both dialects' SQL above answers whole numbers (or NULL): no conversion per row.
        pk, title, status, declared, began, severity, rank, minutes, service, tta, ttm, ttr = values
        rows[pk] = Row(pk, title, status, declared, severity, rank, service or NO_SERVICE,
                       minutes * 60 if minutes is not None else None, {"tta": tta, "ttm": ttm, "ttr": ttr},
                       now - began)
    for pk, edits, *values in in_range.exclude(milestone_edits={}).values_list(
            "id", "milestone_edits", *(m.field for m in MILESTONES if m.editable)):
        if pk in rows:
            rows[pk].edited = _edited(edits, dict(zip((m.field for m in MILESTONES if m.editable), values,
                                                      strict=True)))
    return list(rows.values())


def median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


@dataclass
class Figures:
    """The figures for one group (and one period, or the whole range)."""

    group: str
    period: date | None
    count: int = 0
    edited: int = 0
    median: dict[str, float | None] = field(default_factory=dict)
    p90: dict[str, int | None] = field(default_factory=dict)
    reached: dict[str, int] = field(default_factory=dict)
    met: dict[str, int] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)

    def compliance(self, key: str) -> float | None:
        judged = self.met.get(key, 0) + self.missed.get(key, 0)
        return round(100 * self.met.get(key, 0) / judged, 1) if judged else None

    @property
    def compliances(self) -> dict[str, float | None]:
        return {d.key: self.compliance(d.key) for d in DURATIONS}


def figures(group: str, period: date | None, rows: list[Row]) -> Figures:
    """One pass over the rows (10,000 of them pass through three of these: their period, group, and all)."""
    keys = [d.key for d in DURATIONS]
    values: dict[str, list[int]] = {k: [] for k in keys}
    met = dict.fromkeys(keys, 0)
    missed = dict.fromkeys(keys, 0)
    edited = 0
    for r in rows:
        allowed, times = r.allowed, r.times
        edited += bool(r.edited)
        for key in keys:
            took = times[key]
            if took is not None:
                values[key].append(took)
                if allowed is not None:
                    if took <= allowed:
                        met[key] += 1
                    else:
                        missed[key] += 1
            elif allowed is not None and r.waited > allowed:
                missed[key] += 1
    return Figures(group=group, period=period, count=len(rows), edited=edited,
                   median={k: median(values[k]) for k in keys}, p90={k: p90(values[k]) for k in keys},
                   reached={k: len(values[k]) for k in keys}, met=met, missed=missed)


def period_of(at: datetime | int, weekly: bool, zone=None) -> date:
    zone = zone or timezone.get_current_timezone()
    day = (datetime.fromtimestamp(at, zone) if isinstance(at, int) else timezone.localtime(at, zone)).date()
    return day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)


def periods(filters: Filters) -> list[date]:
    out, current = [], period_of(datetime.combine(filters.start, time(12), tzinfo=timezone.get_current_timezone()),
                                 filters.weekly)
    while current <= filters.end:
        out.append(current)
        if filters.weekly:
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


@dataclass
class Report:
    filters: Filters
    rows: list[Row]
    groups: list[str]
    totals: list[Figures]  # one per group, then "All incidents"
    series: dict[str, list[Figures]]  # group -> one per period
    periods: list[date]
    group_ranks: dict[str, int]

    @property
    def edited_rows(self) -> list[Row]:
        return [r for r in self.rows if r.edited]


def report(filters: Filters) -> Report:
    rows = load(filters)
    key = (lambda r: r.severity) if filters.by == "severity" else (lambda r: r.service)
    by_group: dict[str, list[Row]] = defaultdict(list)
    ranks: dict[str, int] = {}
    for r in rows:
        by_group[key(r)].append(r)
        ranks.setdefault(key(r), r.rank)
    if filters.by == "severity":
        groups = sorted(by_group, key=lambda g: ranks[g])
    else:
        groups = sorted(by_group, key=lambda g: (g == NO_SERVICE, g.lower()))
    spans = periods(filters)
    zone = timezone.get_current_timezone()
    # Each period's first second as Unix time: a row finds its period by bisection, with no date arithmetic.
    starts = [int(datetime.combine(p, time.min, tzinfo=zone).timestamp()) for p in spans]
    series = {}
    for group in groups:
        per: list[list[Row]] = [[] for _ in spans]
        for r in by_group[group]:
            per[max(0, bisect_right(starts, r.declared_epoch) - 1)].append(r)
        series[group] = [figures(group, p, per[i]) for i, p in enumerate(spans)]
    totals = [figures(g, None, by_group[g]) for g in groups] + [figures("All incidents", None, rows)]
    return Report(filters, rows, groups, totals, series, spans, ranks)
