"""Alert name, labels or pasted error text -> runbooks, best first, each with the reasons it matched.

The database picks a bounded set of candidates (alert names through the alerts GIN index, error patterns
contained in the text, the service label, full-text relevance); only those are scored here in Python, so
matching stays fast however many runbooks exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from runbooks.models import Runbook
from runbooks.search import SEARCH_CONFIG, is_postgres, search_vector

MAX_TEXT = 20_000  # a pasted log is cut here: enough for any error message
MAX_TOKENS = 40
TEXT_CANDIDATES = 40
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


def _candidate_ids(base: QuerySet, query: str, text_norm: str, labels: dict[str, str],
                   names: list[str], query_words: list[str]) -> set[int]:
    ids: set[int] = set()
    postgres = is_postgres()
    service = (labels.get("service") or "").strip()

    if names:
        if postgres:
            ids.update(base.filter(alerts__has_any_keys=_variants(names)).values_list("pk", flat=True)[:SCAN_LIMIT])
        else:
            like = Q()
            for name in names[:10]:
                like |= Q(search_text__icontains=name)
            ids.update(base.filter(like).values_list("pk", flat=True)[:SCAN_LIMIT])

    if text_norm and len(text_norm) >= 3:
        if postgres:
            # Error patterns contained in the pasted text, case- and whitespace-insensitively. The GIN index on the
            # patterns' words narrows the rows first (a pattern inside the text shares its words with it); only
            # those rows have their patterns tested, with cheap string functions.
            text_words = " | ".join(list(dict.fromkeys(_TOKEN.findall(text_norm)))[:200]) or "x"
            pattern = (
                "lower(replace(replace(translate(btrim(p.v), E'\\t\\r\\n', '   '), '   ', ' '), '  ', ' '))"
            )
            sql = (
                "jsonb_to_tsvector('simple'::regconfig, runbooks_runbook.error_patterns, '[\"string\"]') "
                "@@ to_tsquery('simple'::regconfig, %s) AND "
                "jsonb_typeof(runbooks_runbook.error_patterns) = 'array' AND EXISTS ("
                "SELECT 1 FROM jsonb_array_elements_text(runbooks_runbook.error_patterns) AS p(v) "
                f"WHERE length(btrim(p.v)) >= 3 AND strpos(%s, {pattern}) > 0)"
            )
            hit = RawSQL(sql, [text_words, text_norm], output_field=BooleanField())
            ids.update(base.alias(hit=hit).filter(hit=True).values_list("pk", flat=True)[:SCAN_LIMIT])
        else:
            for pk, patterns in base.exclude(error_patterns=[]).values_list("pk", "error_patterns").iterator():
                if isinstance(patterns, list) and any(_pattern_in(p, text_norm) for p in patterns):
                    ids.add(pk)

    if service:
        ids.update(base.filter(service__name__iexact=service).values_list("pk", flat=True)[:TEXT_CANDIDATES])

    if query_words:
        if postgres:
            tsquery = SearchQuery(" | ".join(query_words[:MAX_TOKENS]), search_type="raw", config=SEARCH_CONFIG)
            ranked = (
                base.alias(search=search_vector()).filter(search=tsquery)
                .annotate(rank=SearchRank(search_vector(), tsquery))
                .order_by("-rank", "pk")
                .values_list("pk", flat=True)[:TEXT_CANDIDATES]
            )
            ids.update(ranked)
        else:
            like = Q()
            for word in query_words[:8]:
                like |= Q(search_text__icontains=word)
            ids.update(base.filter(like).values_list("pk", flat=True)[:TEXT_CANDIDATES * 3])
    return ids


def _pattern_in(pattern: str, text_norm: str) -> bool:
    wanted = normalise_text(str(pattern))
    return len(wanted) >= 3 and wanted in text_norm


def _score(runbook: Runbook, *, names: list[str], labels: dict[str, str], text_norm: str,
           query_words: list[str]) -> Match:
    score = 0.0
    reasons: list[str] = []
    alerts = [str(a) for a in (runbook.alerts or []) if a]

    best_alert = 0.0
    best_name = ""
    whole = {labels.get("alertname", "").strip(), text_norm and text_norm.strip()}
    for alert in alerts:
        for name in names:
            if name == alert:
                value = SCORE_ALERT_EXACT
            elif name.lower() == alert.lower():
                value = SCORE_ALERT_CASE
            elif alert_key(name) and alert_key(name) == alert_key(alert):
                value = SCORE_ALERT_WORDS
            else:
                continue
            # A name found inside a longer pasted text is a little weaker than the whole query being the name.
            if name not in whole and name.lower() not in whole:
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
        title_words = set(words(f"{runbook.title} {runbook.key or ''}"))
        body_words = set(words(runbook.search_text))
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

    ids = _candidate_ids(base, query, text_norm, labels, names, query_words)
    if not ids:
        return []
    candidates = Runbook.objects.filter(pk__in=ids).select_related("service").only(
        "pk", "title", "key", "slug", "alerts", "error_patterns", "severity_text", "summary", "search_text",
        "version", "updated_at", "service__name",
    )
    matches = [_score(r, names=names, labels=labels, text_norm=text_norm, query_words=query_words)
               for r in candidates]
    matches = [m for m in matches if m.score > 0]
    matches.sort(key=lambda m: (-m.score, m.runbook.title.lower(), m.runbook.pk))
    return matches[:limit]
