"""Severity matrix as a table: one row per level (P0-P4, SEV1-SEV4, Critical/Major/Minor...), with
description, impact, urgency, response time and examples columns in any order."""

from __future__ import annotations

import re

from runbooks.importer.recognisers.base import Found
from runbooks.importer.recognisers.columns import cell, cell_words, column_roles, severity_column
from runbooks.importer.sections import Block, Section, Table
from runbooks.importer.types import ImportedSeverity
from runbooks.importer.vocabulary import minutes, severity_cell

_LIST_SEPARATOR = re.compile(r"\s*(?:<br\s*/?>|;|,(?![^()]*\)))\s*", re.IGNORECASE)
DESCRIBING = ("description", "impact", "urgency", "example")


class SeverityTable:
    def claim(self, block: Block, section: Section, found: Found) -> bool:
        if not isinstance(block, Table):
            return False
        col = severity_column(block.header, block.rows)
        if col is None:
            return False
        roles = column_roles(block.header)
        roles.pop("severity", None)
        if roles.get("notify", -1) == col:
            roles.pop("notify")
        if "notify" in roles or "action" in roles:
            return False  # an escalation matrix: EscalationTable reads it
        if not any(role in roles for role in (*DESCRIBING, "response")):
            return False
        rank = len(found.severity_levels)
        headed = column_roles(block.header).get("severity") == col
        for row in block.rows:
            named = severity_cell(cell(row, col))
            if not named and headed and cell_words(cell(row, col)):
                named = (cell_words(cell(row, col))[:50], None)  # the 'Priority' column names every level
            if not named:
                continue
            name, alias = named
            found.severity_levels.append(level_from_row(block.header, row, roles, name, alias, rank))
            rank += 1
        return True


def level_from_row(
    header: list[str], row: list[str], roles: dict[str, int], name: str, alias: str | None, rank: int
) -> ImportedSeverity:
    parts: list[str] = []
    if "description" in roles:
        parts.append(cell_words(cell(row, roles["description"])))
    for role in ("impact", "urgency"):
        if role in roles and cell(row, roles[role]):
            words = cell_words(cell(row, roles[role]))
            parts.append(f"{cell_words(header[roles[role]])}: {words}" if len(roles) > 2 else words)
    description = "; ".join(p for p in parts if p)
    if alias:
        description = f"{alias}: {description}" if description else alias
    response = cell(row, roles.get("response"))
    response_minutes = minutes(response)
    if response and response_minutes is None:
        description = f"{description} (response: {cell_words(response)})".strip()
    examples = []
    if "example" in roles:
        examples = [
            cell_words(e) for e in _LIST_SEPARATOR.split(cell(row, roles["example"])) if cell_words(e)
        ]
    return ImportedSeverity(
        name=name,
        rank=rank,
        description=description or None,
        response_minutes=response_minutes,
        examples=examples,
    )
