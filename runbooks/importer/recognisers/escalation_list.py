"""Escalation written as a list of tiers with times, under an escalation heading:

    1. Page the on-call engineer (5 min)
    2. After 20 minutes, call the team lead
    3. After 45 minutes: Head of Infrastructure

Each item with a time is one row: who is notified (the person or role the item names), within how many
minutes, and the item's words as the action. The list is claimed: it is policy, not steps of a runbook.
"""

from __future__ import annotations

import re

from runbooks.importer.inline import plain
from runbooks.importer.recognisers.base import Found
from runbooks.importer.recognisers.prose_escalation import _TARGET, _TIER_TIME, _TIER_WHO, _noun
from runbooks.importer.sections import Block, ListBlock, Section
from runbooks.importer.types import ImportedEscalation
from runbooks.importer.vocabulary import minutes, severity_cell
from runbooks.importer.wording import TitleClass, title_class


class EscalationList:
    def claim(self, block: Block, section: Section, found: Found) -> bool:
        if not isinstance(block, ListBlock) or len(block.items) < 2 or not section.level:
            return False
        if title_class(section.title) != TitleClass.POLICY_PROCESS and "escalat" not in section.title.lower():
            return False
        rows = []
        for item in block.items:
            words = plain(item.text).strip()
            when = _TIER_TIME.search(words)
            if not when:
                continue
            rest = (words[: when.start()] + " " + words[when.end() :]).strip(" ,:;-–—()")
            rest = re.sub(r"\s+([:;,])", r"\1", " ".join(rest.split()))
            target = _TARGET.search(rest) or _TIER_WHO.search(rest)
            rows.append(([_noun(target.group(1))] if target else [], minutes(when.group(1)), rest))
        if len(rows) < 2 or len(rows) * 2 < len(block.items):
            return False
        named = severity_cell(plain(section.title).split(" ")[0]) if section.title else None
        for who, within, action in rows:
            found.escalation.append(
                ImportedEscalation(
                    severity=named[0] if named else None, notify=who, within_minutes=within, action=action or None
                )
            )
        return True
