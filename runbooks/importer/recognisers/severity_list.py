"""Severity levels as a list: '- **P0 (Critical)**: Complete outage, data loss', '- SEV2 - feature down'."""

from __future__ import annotations

import re

from runbooks.importer.inline import plain, split_label
from runbooks.importer.recognisers.base import Found
from runbooks.importer.sections import Block, ListBlock, Section
from runbooks.importer.types import ImportedSeverity
from runbooks.importer.vocabulary import minutes, severity_cell

_RESPONSE = re.compile(r"\(?\b(?:respond|response|ack(?:nowledge)?|within|sla)\b[^)]{0,60}\)?", re.IGNORECASE)
_DASHED = re.compile(r"^\s*(\S.{0,40}?)\s+[-–—]\s+(.+)$")


class SeverityList:
    def claim(self, block: Block, section: Section, found: Found) -> bool:
        if not isinstance(block, ListBlock) or len(block.items) < 2:
            return False
        rows = []
        for item in block.items:
            if item.checkbox:
                return False
            row = _split(item.text)
            if row is None:
                return False
            rows.append(row)
        rank = len(found.severity_levels)
        for (name, alias), rest in rows:
            description = plain(rest)
            response = _RESPONSE.search(rest)
            response_minutes = minutes(response.group(0)) if response else None
            if alias:
                description = f"{alias}: {description}" if description else alias
            found.severity_levels.append(
                ImportedSeverity(
                    name=name,
                    rank=rank,
                    description=description or None,
                    response_minutes=response_minutes,
                    examples=[],
                )
            )
            rank += 1
        return True


def _split(text: str) -> tuple[tuple[str, str | None], str] | None:
    label = split_label(text)
    if label is not None:
        named = severity_cell(label.label)
        return (named, label.rest) if named else None
    match = _DASHED.match(plain(text))
    if match:
        named = severity_cell(match.group(1))
        return (named, match.group(2)) if named else None
    return None
