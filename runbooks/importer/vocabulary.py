"""The words runbooks use for their parts: phases, severities, metadata labels, time spans.

Phases are told apart by the words of a heading or label, most specific first ("Post-incident checklist" is
post-incident, not a checklist of checks). These are general incident-response words, not any one document's.
"""

from __future__ import annotations

import re
from functools import lru_cache

from runbooks.importer.inline import plain, strip_symbols

# (phase, pattern) in priority order; a heading takes the first that matches.
_PHASES: list[tuple[str, re.Pattern[str]]] = [
    (p, re.compile(rx, re.IGNORECASE))
    for p, rx in (
        (
            "post-incident",
            r"\bpost[- ]?(?:incident|mortem|rollback|recovery|event)|\bafter[- ](?:action|the incident)"
            r"|\bretro(?:spective)?\b|\blessons? learn|\bwrap[- ]?up\b|\bclose[- ]?out\b",
        ),
        (
            "prevention",
            r"\bprevent|\bhardening\b|\blong[- ]term\b|\bfollow[- ]?ups?\b|\bavoid(?:ing)? recurrence",
        ),
        (
            "verification",
            r"\bverif|\bvalidat|\bconfirm|\bsmoke[- ]test|\bhow to know it worked|\bpost[- ]checks?",
        ),
        (
            "detection",
            r"\bdetect|\bsymptoms?\b|\bsigns?\b|\bindicators?\b|\bearly warning|\bwhen to\b|\bmeaning\b"
            r"|\bidentification\b|\bwhat (?:it|this) means\b"
            r"|\btriggers?\b|\bhow (?:to )?(?:spot|recogni[sz]e)",
        ),
        (
            "triage",
            r"\bimmediate|\btriage\b|\bfirst (?:steps|response|actions|\d+\s*min)"
            r"|\binitial (?:response|steps)|\bassess(?:ment)?\b|\bstabili[sz]e|\bresponse steps\b"
            r"|\bfirst responder|\bimpact\b",
        ),
        (
            "mitigation",
            r"\bmitigat|\bworkarounds?\b|\bquick (?:wins?|fix(?:es)?)\b|\bcontain(?:ment)?\b|\bshort[- ]term"
            r"|\bstop the bleeding|\bfailover\b|\bfail over\b",
        ),
        (
            "remediation",
            r"\bremediat|\bresolution\b|\bresolv|\bfix(?:es|ing)?\b|\brecover|\brestor|\brepair"
            r"|\bsolutions?\b|\bemergency\b|\bprocedure\b|\bcommon causes\b|\bresolution steps"
            r"|\bremedy|\brollback (?:steps|procedure|plan)",
        ),
        (
            "investigation",
            r"\binvestigat|\bdiagnos|\bdebug|\btroubleshoot|\broot cause|\brca\b|\banalysis\b"
            r"|\bchecks?\b|\bchecklist\b|\binspect|\bcascade\b|\bexamine|\bidentify",
        ),
        ("other", r"\bescalat|\bcontacts?\b|\bnotif|\bcommunicat|\bstakeholders?\b|\bincident response\b"),
    )
]

# Sections that explain rather than instruct: their prose is a summary, not steps.
_DESCRIPTIVE = re.compile(
    r"^(?:meaning|impact|overview|description|summary|background|context|about|purpose|notes?"
    r"|what (?:this|it) means|business impact|customer impact|user impact|scope|why(?: it matters)?"
    r"|explanation|details)\b",
    re.IGNORECASE,
)
# Metadata sections: "### Alert" with Name / Severity / Threshold lines.
_METADATA_HEADING = re.compile(
    r"^(?:alert(?: details| info(?:rmation)?| definition)?|metadata|details|info)$", re.I
)

_NUMBERING = re.compile(
    r"^(?:(?:step|phase|part|section)\s+)?(?:\d+(?:\.\d+)*|[A-Za-z])[.):]\s+|^\d+\s+-\s+|^\d+(?:\.\d+)+\s+", re.I
)
_STEP_NUMBER = re.compile(r"^step\s*\d+[a-z]?\s*[:.)-]\s*", re.IGNORECASE)


@lru_cache(maxsize=8192)
def clean_heading(title: str) -> str:
    """Plain words of a heading: markup, emoji and a trailing colon gone, '(0-5 min)' kept."""
    text = strip_symbols(plain(title))
    return text.rstrip(":").strip()


@lru_cache(maxsize=8192)
def drop_numbering(text: str) -> str:
    """'1. Disk full' -> 'Disk full'; 'Step 2: Check logs' -> 'Check logs'."""
    text = _STEP_NUMBER.sub("", text)
    return _NUMBERING.sub("", text, count=1).strip() or text


def drop_step_number(text: str) -> str:
    """'Step 2: Check logs' -> 'Check logs'."""
    return _STEP_NUMBER.sub("", text, count=1) if text[:4].lower() == "step" else text


@lru_cache(maxsize=8192)
def phase_of(words: str | None) -> str | None:
    """The phase a heading or label names, or None when it names none."""
    if not words:
        return None
    text = drop_numbering(clean_heading(words))
    if not text or len(text) > 120:
        return None
    for phase, pattern in _PHASES:
        if pattern.search(text):
            return phase
    return None




def is_metadata_heading(words: str | None) -> bool:
    """'### Alert', '### Metadata': a section of Name / Severity / Threshold lines, not steps."""
    return bool(words and _METADATA_HEADING.match(drop_numbering(clean_heading(words))))


def is_descriptive(words: str | None) -> bool:
    return bool(words and _DESCRIPTIVE.match(drop_numbering(clean_heading(words))))




# --- severities --------------------------------------------------------------------------------------

SEVERITY_NAME = re.compile(
    r"(?:P[0-5]|SEV[- ]?[0-5]|S[0-5]|Sev(?:erity)?[- ]?[0-5]|critical|major|minor|high|medium|moderate|low"
    r"|warning|info(?:rmational)?|emergency|urgent|blocker|trivial|normal|cosmetic|catastrophic|severe)",
    re.IGNORECASE,
)
_SEVERITY_CELL = re.compile(
    r"^\s*(" + SEVERITY_NAME.pattern + r")\b\s*(?:[(\[]\s*([^)\]]{1,40})\s*[)\]]|[-–—:/]\s*(.{1,60}))?\s*$",
    re.IGNORECASE,
)


@lru_cache(maxsize=8192)
def severity_cell(text: str) -> tuple[str, str | None] | None:
    """'**P0 (Critical)**' -> ('P0', 'Critical'); '🔴 Critical' -> ('Critical', None); prose -> None."""
    words = strip_symbols(plain(text))
    match = _SEVERITY_CELL.match(words)
    if not match:
        return None
    alias = match.group(2) or match.group(3)
    return match.group(1), (alias.strip() if alias else None)


# --- metadata labels ---------------------------------------------------------------------------------

METADATA = {
    "alert": "alert",
    "alerts": "alert",
    "alert name": "alert",
    "alertname": "alert",
    "alert names": "alert",
    "prometheus alert": "alert",
    "alarm": "alert",
    "severity": "severity",
    "priority": "severity",
    "sev": "severity",
    "severity level": "severity",
    "service": "service",
    "services": "service",
    "component": "service",
    "system": "service",
    "affected service": "service",
    "application": "service",
    "app": "service",
    "error": "error",
    "errors": "error",
    "error pattern": "error",
    "error patterns": "error",
    "error message": "error",
    "log pattern": "error",
    "exception": "error",
    "key": "key",
    "id": "key",
    "runbook id": "key",
    "sop id": "key",
    "runbook": "key",
    "threshold": "ignore",
    "owner": "owner",
    "owners": "owner",
    "owned by": "owner",
    "owning team": "owner",
    "team": "owner",
    "maintainer": "owner",
    "maintainers": "owner",
    "last reviewed": "ignore",
    "last tested": "ignore",
    "reviewed": "ignore",
    "last updated": "ignore",
    "version": "ignore",
    "document version": "ignore",
    "next review": "ignore",
    "dashboard": "ignore",
    "classification": "ignore",
    "expression": "ignore",
    "expr": "ignore",
    "query": "ignore",
    "for": "ignore",
    "labels": "ignore",
}


def metadata_kind(label: str, *, in_alert_section: bool = False) -> str | None:
    """'alert', 'severity', 'service', 'owner', 'error', 'key', 'ignore' for a metadata label, else None."""
    key = plain(label).lower().strip()
    if in_alert_section and key in ("name", "title"):
        return "alert"
    return METADATA.get(key)


# --- time spans ---------------------------------------------------------------------------------------

_MINUTES = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:-\s*\d+(?:\.\d+)?\s*)?"
    r"(minutes?|mins?|m|hours?|hrs?|h|days?|d|seconds?|secs?|s|weeks?|wk|w)\b",
    re.IGNORECASE,
)
_UNIT = {"m": 1, "h": 60, "d": 1440, "s": 1 / 60, "w": 10080}


def minutes(text: str | None) -> int | None:
    """'15 mins' -> 15, '< 1 hour' -> 60, '2 hours' -> 120, '< 1 day' -> 1440; 'Next business day' -> None."""
    if not text:
        return None
    match = _MINUTES.search(plain(text))
    if not match:
        words = plain(text).lower()
        if re.fullmatch(r"(?:immediate(?:ly)?|now|asap|instant(?:ly)?)", words):
            return 0
        return None
    unit = match.group(2).lower()
    factor = _UNIT["m" if unit.startswith("mi") or unit == "m" else unit[0]]
    value = float(match.group(1)) * factor
    return max(0, round(value)) if factor >= 1 or value >= 1 else 1
