"""Alert name, labels or pasted error text -> runbooks, best first, each with the reasons it matched.

The database picks a bounded set of candidates (alert names through the alerts GIN index, error patterns
contained in the text, the service label, full-text relevance); only those are scored here in Python, so
matching stays fast however many runbooks exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import Expression, RawSQL

from runbooks.models import Runbook
from runbooks.search import SEARCH_CONFIG, is_postgres

MAX_TEXT = 20_000  # a pasted log is cut here: enough for any error message
MAX_TOKENS = 40
TEXT_CANDIDATES = 40
TEXT_SCAN = 300  # free-text candidates are ranked among at most this many rows that share a word with the text
TITLE_SCAN = 300  # and among at most this many whose title does
SCAN_LIMIT = 300

SCORE_ALERT_EXACT = 100.0
SCORE_ALERT_CASE = 95.0
SCORE_ALERT_WORDS = 90.0
SCORE_ALERT_IN_TEXT = 80.0
SCORE_PATTERN = 60.0
SCORE_SERVICE = 25.0
SCORE_SERVICE_IN_TEXT = 10.0
SCORE_WORDS_MAX = 30.0

_STOPWORDS = """a an and are as at be but by can for from has have in into is it its no not of on or our the then there
this to was were when which will with you your we i if do does did so than that these those they their
error errors warn warning info debug"""
STOPWORDS = frozenset(_STOPWORDS.split())
_TOKEN = re.compile(r"[a-z0-9]+")
_ALERT_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{2,99}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass
class Match:
    """One runbook that fits the query, how well, and why (in words a responder reads)."""

    runbook: Runbook
    score: float
    reasons: list[str] = field(default_factory=list)


def alert_key(name: str) -> str:
    """`CheckoutLatencyHigh`, `checkout latency high` and `checkout_latency_high` share one key."""
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


def split_camel(name: str) -> str:
    return _CAMEL.sub(" ", name)


def normalise_text(text: str) -> str:
    """Lower case with every run of whitespace as one space: how error patterns are compared."""
    return " ".join((text or "").split()).lower()


def words(text: str) -> list[str]:
    """Meaningful lower-case words of a text, in order, without repeats; CamelCase names are split too."""
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(split_camel(text or "").lower()):
        if len(token) >= 2 and token not in STOPWORDS and not token.isdigit():
            seen.setdefault(token, None)
    return list(seen)


def _alert_candidates(query: str, labels: dict[str, str]) -> list[str]:
    """Names the query might be: the alertname label, the whole query when short, and identifier-like tokens."""
    names: list[str] = []
    if labels.get("alertname"):
        names.append(labels["alertname"].strip())
    stripped = query.strip()
    if stripped and len(stripped) <= 200:
        names.append(stripped)
    names += _ALERT_TOKEN.findall(query[:2000])
    return list(dict.fromkeys(n for n in names if n))[:MAX_TOKENS]


def _variants(names: list[str]) -> list[str]:
    """Spellings to look up exactly in the alerts index (case and CamelCase variants of each name)."""
    out: dict[str, None] = {}
    for name in names:
        parts = _TOKEN.findall(split_camel(name).lower())
        for v in (name, name.lower(), name.upper(), "".join(p.capitalize() for p in parts), "_".join(parts)):
            if v:
                out.setdefault(v, None)
    return list(out)[:200]


class PatternHit(Expression):
    """True when one of the row's error patterns is inside the pasted text, case- and whitespace-insensitively.

    The GIN index on the patterns' words (migration 0002) narrows the rows first: a pattern inside the text shares
    its words with it. Only those rows have their patterns tested, with cheap string functions. Written against
    whatever alias the query gives the table, so it works inside a subquery.
    """

    output_field = BooleanField()

    def __init__(self, text_words: str, text_norm: str):
        super().__init__()
        self.text_words, self.text_norm = text_words, text_norm

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        column = f"{table}.{connection.ops.quote_name('error_patterns')}"
        pattern = "lower(replace(replace(translate(btrim(p.v), E'\\t\\r\\n', '   '), '   ', ' '), '  ', ' '))"
        sql = (
            f"(jsonb_to_tsvector('simple'::regconfig, {column}, '[\"string\"]') @@ to_tsquery('simple'::regconfig, %s) "
            f"AND jsonb_typeof({column}) = 'array' AND EXISTS ("
            f"SELECT 1 FROM jsonb_array_elements_text({column}) AS p(v) "
            f"WHERE length(btrim(p.v)) >= 3 AND strpos(%s, {pattern}) > 0))"
        )
        return sql, [self.text_words, self.text_norm]


def _ranked_text(base: QuerySet, tsquery: str, *, column: str, scan: int) -> QuerySet:
    """The TEXT_CANDIDATES best by rank among the first `scan` rows whose `column` (the stored title_vector or
    search_vector) shares a word with the query.

    The rows sharing a word are a MATERIALIZED CTE: planned for all its rows, it reads them through the GIN
    bitmap. Written as `LIMIT 300` in a subquery, PostgreSQL misjudged how many rows an OR of words matches
    (2,019 estimated, ~500 real) and scanned the table until it had 300 of them: 12 ms of a 23 ms match
    (EXPLAIN ANALYZE at 10,000 runbooks, bench/bench_search.py with BENCH_EXPLAIN=1), against 2 ms now; the
    title part had the same misestimate (6 ms). The CTE is read lazily: it stops after `scan` rows however
    common a word is.
    """
    assert column in ("title_vector", "search_vector")
    narrow, narrow_params = "", []
    if base.query.where:  # a narrowed queryset (match_runbooks(queryset=...)): rank only among its rows
        base_sql, narrow_params = base.order_by().values("pk").query.sql_with_params()
        narrow = f" AND r.id IN ({base_sql})"
    sql = (
        f"WITH m AS MATERIALIZED (SELECT r.id, r.{column} AS v FROM runbooks_runbook r "
        f"WHERE r.{column} @@ to_tsquery(%s::regconfig, %s){narrow}) "
        "SELECT id FROM (SELECT id, v FROM m LIMIT %s) s "
        "ORDER BY ts_rank(v, to_tsquery(%s::regconfig, %s)) DESC, id LIMIT %s"
    )
    params = [SEARCH_CONFIG, tsquery, *narrow_params, scan, SEARCH_CONFIG, tsquery, TEXT_CANDIDATES]
    return Runbook.objects.filter(pk__in=RawSQL(sql, params)).order_by().values("pk")


def _postgres_candidates(base: QuerySet, text_norm: str, service: str, names: list[str],
                         query_words: list[str]) -> QuerySet:
    """Every source of candidates as one UNION of bounded subqueries, each read through its own index."""
    parts = []
    if names:
        parts.append(base.filter(alerts__has_any_keys=_variants(names)).order_by().values("pk")[:SCAN_LIMIT])
    if text_norm and len(text_norm) >= 3:
        text_words = " | ".join(list(dict.fromkeys(_TOKEN.findall(text_norm)))[:200]) or "x"
        hit = PatternHit(text_words, text_norm)
        parts.append(base.alias(hit=hit).filter(hit=True).order_by().values("pk")[:SCAN_LIMIT])
    if service:
        parts.append(base.filter(service__name__iexact=service).order_by().values("pk")[:TEXT_CANDIDATES])
    if query_words:
        # Runbooks whose title shares the most words with the text, and those whose text does, each ranked
        # among a bounded number of rows: a common word would otherwise have most of the library ranked.
        words_query = " | ".join(query_words[:MAX_TOKENS])
        parts.append(_ranked_text(base, words_query, column="title_vector", scan=TITLE_SCAN))
        parts.append(_ranked_text(base, words_query, column="search_vector", scan=TEXT_SCAN))
    if not parts:
        return Runbook.objects.none()
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def _sqlite_candidate_ids(base: QuerySet, text_norm: str, service: str, names: list[str],
                          query_words: list[str]) -> set[int]:
    ids: set[int] = set()
    if names:
        like = Q()
        for name in names[:10]:
            like |= Q(search_text__icontains=name)
        ids.update(base.filter(like).values_list("pk", flat=True)[:SCAN_LIMIT])
    if text_norm and len(text_norm) >= 3:
        for pk, patterns in base.exclude(error_patterns=[]).values_list("pk", "error_patterns").iterator():
            if isinstance(patterns, list) and any(_pattern_in(p, text_norm) for p in patterns):
                ids.add(pk)
    if service:
        ids.update(base.filter(service__name__iexact=service).values_list("pk", flat=True)[:TEXT_CANDIDATES])
    if query_words:
        like = Q()
        for word in query_words[:8]:
            like |= Q(search_text__icontains=word)
        ids.update(base.filter(like).values_list("pk", flat=True)[:TEXT_CANDIDATES * 3])
    return ids


def _pattern_in(pattern: str, text_norm: str) -> bool:
    wanted = normalise_text(str(pattern))
    return len(wanted) >= 3 and wanted in text_norm


_WORD = re.compile(r"[A-Za-z0-9]+")


def _word_set(text: str) -> set[str]:
    """Every lower-case token of a text (CamelCase split): enough to test the query's words against."""
    out: set[str] = set()
    for token in _WORD.findall(text or ""):
        if token.islower() or token.isupper() or token.isdigit() or token[1:].islower():
            out.add(token.lower())
        else:  # CamelCase: the regex is costly, so only on the tokens that need it
            out.update(_TOKEN.findall(split_camel(token).lower()))
    return out


@dataclass
class _Wanted:
    """What the query asks for, worked out once per call instead of once per candidate."""

    names: list[tuple[str, str, str, bool]]  # (name, lower, alert key, whole query is this name)
    labels: dict[str, str]
    text_norm: str
    query_words: list[str]

    @classmethod
    def of(cls, names: list[str], labels: dict[str, str], text_norm: str, query_words: list[str]) -> _Wanted:
        whole = {labels.get("alertname", "").strip(), text_norm and text_norm.strip()}
        return cls(
            names=[(n, n.lower(), alert_key(n), n in whole or n.lower() in whole) for n in names],
            labels=labels, text_norm=text_norm, query_words=query_words,
        )


def _score(runbook: Runbook, wanted: _Wanted) -> Match:
    score = 0.0
    reasons: list[str] = []
    labels, text_norm, query_words = wanted.labels, wanted.text_norm, wanted.query_words
    alerts = [str(a) for a in (runbook.alerts or []) if a]

    best_alert = 0.0
    best_name = ""
    for alert in alerts:
        alert_lower, key = alert.lower(), None
        for name, name_lower, name_key, is_whole in wanted.names:
            if name == alert:
                value = SCORE_ALERT_EXACT
            elif name_lower == alert_lower:
                value = SCORE_ALERT_CASE
            else:
                key = alert_key(alert) if key is None else key
                if not (name_key and name_key == key):
                    continue
                value = SCORE_ALERT_WORDS
            # A name found inside a longer pasted text is a little weaker than the whole query being the name.
            if not is_whole:
                value = min(value, SCORE_ALERT_IN_TEXT)
            if value > best_alert:
                best_alert, best_name = value, alert
    if best_alert:
        score += best_alert
        reasons.append(f"alert name {best_name}")

    found = [p for p in (runbook.error_patterns or []) if p and _pattern_in(p, text_norm)]
    if found:
        longest = max(found, key=len)
        # Longer patterns are more specific; several patterns found add a little.
        score += SCORE_PATTERN + min(len(normalise_text(longest)), 40) / 4 + 2 * (len(found) - 1)
        reasons += [f"error pattern “{p}” found in your text" for p in found[:3]]

    service = runbook.service.name if runbook.service_id and runbook.service else ""
    wanted_service = (labels.get("service") or "").strip()
    if service and wanted_service and service.lower() == wanted_service.lower():
        score += SCORE_SERVICE
        reasons.append(f"service {service}")
    elif service and len(service) >= 3 and re.search(rf"(?<![\w-]){re.escape(service.lower())}(?![\w-])", text_norm):
        score += SCORE_SERVICE_IN_TEXT
        reasons.append(f"service {service}")

    if query_words:
        # query_words are already long enough, not stop words and not numbers: plain token sets suffice.
        title_words = _word_set(f"{runbook.title} {runbook.key or ''}")
        body_words = _word_set(runbook.search_text)
        in_title = [w for w in query_words if w in title_words]
        in_body = [w for w in query_words if w in body_words and w not in title_words]
        if in_title or in_body:
            # Fraction of the query's words the runbook uses, title words counting double.
            covered = (2 * len(in_title) + len(in_body)) / (2 * len(query_words))
            score += round(min(SCORE_WORDS_MAX, SCORE_WORDS_MAX * covered + len(in_title) + 0.5 * len(in_body)), 2)
            shown = [w for w in query_words if w in title_words or w in body_words][:6]
            reasons.append("words: " + ", ".join(shown))
    return Match(runbook=runbook, score=round(score, 2), reasons=reasons)


def match_runbooks(query: str, *, labels: dict[str, str] | None = None, limit: int = 10,
                   queryset: QuerySet | None = None) -> list[Match]:
    """Rank runbooks for an alert name, alert labels, or a pasted error message or log line.

    The strongest signal is an alert name equal to one the runbook answers (exactly, in any case, or spelled
    as words: "checkout latency high"); then an error pattern of the runbook contained in the text; then the
    service label; then the words the text shares with the runbook's title, summary and steps.
    """
    labels = {str(k): str(v) for k, v in (labels or {}).items() if v is not None}
    query = (query or "")[:MAX_TEXT]
    limit = max(1, min(int(limit), 100))
    base = queryset if queryset is not None else Runbook.objects.all()

    names = _alert_candidates(query, labels)
    text_norm = normalise_text(" ".join([query, *labels.values()]))
    query_words = words(query)[:MAX_TOKENS]
    if not (names or text_norm or labels):
        return []

    service = (labels.get("service") or "").strip()
    if is_postgres():  # one query: the candidates' union is a subquery of the load
        ids = _postgres_candidates(base, text_norm, service, names, query_words)
    else:
        ids = _sqlite_candidate_ids(base, text_norm, service, names, query_words)
        if not ids:
            return []
    candidates = Runbook.objects.filter(pk__in=ids).select_related("service").only(
        "pk", "title", "key", "slug", "alerts", "error_patterns", "severity_text", "summary", "search_text",
        "version", "updated_at", "service__name",
    )
    wanted = _Wanted.of(names, labels, text_norm, query_words)
    matches = [_score(r, wanted) for r in candidates]
    matches = [m for m in matches if m.score > 0]
    matches.sort(key=lambda m: (-m.score, m.runbook.title.lower(), m.runbook.pk))
    return matches[:limit]
