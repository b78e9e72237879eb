"""Table headers to column roles, shared by the severity, escalation and contacts table recognisers."""

from __future__ import annotations

import re
from functools import lru_cache

from runbooks.importer.inline import plain, strip_symbols
from runbooks.importer.vocabulary import severity_cell

_ROLES: list[tuple[str, re.Pattern[str]]] = [
    (role, re.compile(rx, re.IGNORECASE))
    for role, rx in (
        ("example", r"\bexamples?\b|\be\.g\b"),
        ("urgency", r"\burgency\b"),
        (
            "response",
            r"\bresponse\b|\bsla\b|\btime\b|\bwithin\b|\back(?:nowledge)?\b|\bafter\b|\bdeadline\b"
            r"|\btarget\b|\bwait\b|\bminutes?\b|\bdelay\b|\bto respond\b",
        ),
        (
            "notify",
            r"\bnotify\b|\bcontacts?\b|\bwho\b|\bescalate(?: to)?\b|\bpage\b|\bpaged\b|\bresponders?\b"
            r"|\bon[- ]?call\b|\binform\b|\bpeople\b|\bowners?\b|\bescalation\b",
        ),
        ("action", r"\bactions?\b|\bwhat to do\b|\bsteps?\b|\bprocess\b|\bprocedure\b|\bhow\b"),
        (
            "severity",
            r"\bseverity\b|\bsev\b|\bpriority\b|\blevel\b|\bclass(?:ification)?\b|\btier\b|\bincident type\b",
        ),
        ("impact", r"\bimpact\b"),
        (
            "description",
            r"\bdescription\b|\bmeaning\b|\bdefinition\b|\bcriteria\b|\bsummary\b|\bwhat\b|\bscope\b"
            r"|\bcondition\b|\bdetails?\b|\bexplanation\b|\bcharacteristics\b",
        ),
        ("email", r"\be-?mail\b|\bmail\b"),
        ("phone", r"\bphone\b|\btel(?:ephone)?\b|\bmobile\b|\bcell\b|\bpager\b|\bnumber\b"),
        (
            "handle",
            r"\bhandle\b|\bslack\b|\bchat\b|\busername\b|\buser\b|\bteams\b|\bdiscord\b|\bmattermost\b",
        ),
        ("channel", r"\bchannel\b"),
        ("via", r"\bvia\b|\bmethod\b|\bmedium\b|\bpreferred\b|\btool\b|\bplatform\b"),
        ("role", r"\brole\b|\btitle\b|\bposition\b|\bresponsibilit|\bfunction\b|\bteam\b|\barea\b"),
        ("name", r"\bname\b|\bperson\b|\bcontact\b|\bwho\b"),
    )
]


def cell_words(cell: str) -> str:
    return strip_symbols(plain(cell))


def column_roles(header: list[str]) -> dict[str, int]:
    """The first column of each role, e.g. {'severity': 0, 'response': 2}."""
    return dict(_column_roles(tuple(header)))


@lru_cache(maxsize=1024)
def _column_roles(header: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    roles: dict[str, int] = {}
    for n, cell in enumerate(header):
        words = cell_words(cell)
        for role, pattern in _ROLES:
            if pattern.search(words) and role not in roles:
                roles[role] = n
                break
    return tuple(roles.items())


def severity_column(header: list[str], rows: list[list[str]]) -> int | None:
    """The column naming severities: by its header, else the first column if its cells are severity names."""
    if not rows:
        return None
    candidates = [column_roles(header).get("severity"), 0]
    for col in candidates:
        if col is None:
            continue
        cells = [row[col] for row in rows if col < len(row) and row[col].strip()]
        if cells and sum(1 for c in cells if severity_cell(c)) >= max(1, round(len(cells) * 0.6)):
            return col
    return None


def cell(row: list[str], col: int | None) -> str:
    return row[col].strip() if col is not None and col < len(row) else ""
