"""Runbook titles: emoji, numbering and an id in the title are decoration; a prefix can say what it is.

Each title shape knows one prefix style: 'Issue: X' (troubleshooting guides), 'Alert: Name' (alert runbooks).
A title with such a prefix is a runbook whatever its sub-headings are called.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from runbooks.importer.vocabulary import clean_heading, drop_numbering

_KEY_IN_TITLE = re.compile(
    r"^\s*[\[(]\s*([A-Z][A-Z0-9]{1,15}(?:[-_][A-Z0-9]{1,15}){1,4})\s*[\])]\s*[:.-]?\s*"
    r"|\s*[\[(]\s*([A-Z][A-Z0-9]{1,15}(?:[-_][A-Z0-9]{1,15}){1,4})\s*[\])]\s*$"
    r"|^\s*([A-Z][A-Z0-9]{1,15}(?:-[A-Z0-9]{1,15}){1,4})\s*[:–—]\s+"
)


@dataclass
class TitleMatch:
    title: str
    alerts: list[str] = field(default_factory=list)
    prefixed: bool = True  # the prefix says it is a runbook, whatever its sub-headings are


class TitleShape(Protocol):
    def match(self, title: str) -> TitleMatch | None:
        """The runbook's title (and what the prefix says) when the heading has this shape."""


class PrefixedTitle:
    """'Issue: API unavailable', 'Problem - disk full', 'Scenario 2: cache stampede'."""

    _PREFIX = re.compile(
        r"^(?:issue|problem|incident|scenario|symptom|failure mode|case|playbook|runbook|sop|error)"
        r"(?:\s*#?\d+)?\s*[:–—-]\s+(?=\S)",
        re.IGNORECASE,
    )

    def match(self, title: str) -> TitleMatch | None:
        found = self._PREFIX.match(title)
        return TitleMatch(title[found.end() :].strip()) if found else None


class AlertTitle:
    """'Alert: KafkaConsumerLagHigh' names the alert the section answers."""

    _PREFIX = re.compile(r"^(?:alert(?:name)?|alarm)\s*[:–—-]\s+(?=\S)", re.IGNORECASE)
    _NAME = re.compile(r"^[A-Za-z][\w.:-]{2,120}$")

    def match(self, title: str) -> TitleMatch | None:
        found = self._PREFIX.match(title)
        if not found:
            return None
        name = title[found.end() :].strip().strip("`")
        return TitleMatch(name, [name] if self._NAME.match(name) else [])


class AlertNameTitle:
    """'## KubePodCrashLooping': a heading that is one CamelCase identifier is the alert's own name."""

    _NAME = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*){2,}")

    def match(self, title: str) -> TitleMatch | None:
        name = title.strip().strip("`")
        if self._NAME.fullmatch(name):
            return TitleMatch(name, [name], prefixed=False)
        return None


TITLE_SHAPES: list[TitleShape] = [AlertTitle(), PrefixedTitle(), AlertNameTitle()]


@dataclass
class Title:
    text: str
    key: str | None = None
    alerts: list[str] = field(default_factory=list)
    prefixed: bool = False


def read_title(raw: str) -> Title:
    """'🚨 2. Payment Gateway Failure (PAY-7)' -> Title('Payment Gateway Failure', key='PAY-7')."""
    text = drop_numbering(clean_heading(raw))
    key = None
    found = _KEY_IN_TITLE.search(text)
    if found and any(c.isdigit() for c in found.group(0)):
        key = next(g for g in found.groups() if g)
        rest = (text[: found.start()] + " " + text[found.end() :]).strip(" :-–—")
        text = rest or text
    for shape in TITLE_SHAPES:
        matched = shape.match(text)
        if matched is not None:
            return Title(
                drop_numbering(matched.title) or text, key, matched.alerts, prefixed=matched.prefixed
            )
    return Title(text, key)
