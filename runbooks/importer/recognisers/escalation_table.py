"""Escalation matrix as a table: per severity, who is told, within how long, and what is done."""

from __future__ import annotations

import re

from runbooks.importer.inline import plain
from runbooks.importer.recognisers.base import Found
from runbooks.importer.recognisers.columns import cell, cell_words, column_roles, severity_column
from runbooks.importer.sections import Block, Section, Table
from runbooks.importer.types import ImportedEscalation
from runbooks.importer.vocabulary import minutes, severity_cell

_NAMES = re.compile(r"\s*(?:\+|,|;|&|<br\s*/?>|\band\b|\bthen\b|→|->)\s*", re.IGNORECASE)
_ESCALATION_HEADING = re.compile(
    r"escalat|on[- ]?call|notification|paging|who to (?:call|page)", re.IGNORECASE
)


class EscalationTable:
    def claim(self, block: Block, section: Section, found: Found) -> bool:
        if not isinstance(block, Table) or not block.rows:
            return False
        roles = column_roles(block.header)
        col = severity_column(block.header, block.rows)
        if col is not None and roles.get("notify") == col:
            roles.pop("notify")
        notify_col = roles.get("notify")
        action_col = roles.get("action")
        time_col = roles.get("response")
        if col is None:
            # a tiered matrix without severities ("Tier | Who | After") only under an escalation heading
            if not (
                _ESCALATION_HEADING.search(section.title) and notify_col is not None and time_col is not None
            ):
                return False
        elif notify_col is None and action_col is None:
            return False
        for row in block.rows:
            severity = None
            if col is not None:
                named = severity_cell(cell(row, col))
                severity = named[0] if named else (cell_words(cell(row, col)) or None)
            when = cell(row, time_col)
            within = minutes(when)
            action = cell_words(cell(row, action_col)) or None
            if when and within is None:
                words = cell_words(when)
                action = f"{action} ({words})" if action else words
            notify = (
                [n for n in (plain(x) for x in _NAMES.split(cell(row, notify_col))) if n]
                if notify_col is not None
                else []
            )
            found.escalation.append(
                ImportedEscalation(severity=severity, notify=notify, within_minutes=within, action=action)
            )
        return True
