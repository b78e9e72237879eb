"""One severity matrix per organisation: a document's scale becomes aliases of the levels already there.

Importing P0-P3 beside SEV1-SEV4 beside Critical/High/Medium/Low must not make twelve levels. Each
imported level is reconciled with the matrix, in this order:

1. its name is a level's name or alias (case, spaces and hyphens aside: 'Sev 1' is 'SEV1'): that level;
2. the matrix is empty: a new level, ranked as the document ranks it;
3. its name means the same as a level's name or alias ('Major' and 'High', 'Emergency' and 'Critical'):
   an alias of that level;
4. the level at the same position in the matrix (a document's second level is the matrix's second):
   an alias of that level;
5. otherwise (the document's scale is longer than the matrix): a new level after the last.

`reconcile` decides, without touching the database, so the import preview shows every decision; storing
applies them. Once a name is an alias, re-importing finds it by rule 1: the decision is stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MEANINGS = [
    (0, re.compile(r"^(?:critical|crit|emergency|catastrophic|blocker|disaster|fatal|outage)$", re.I)),
    (1, re.compile(r"^(?:high|major|severe|urgent|serious|important)$", re.I)),
    (2, re.compile(r"^(?:medium|moderate|normal|standard|average|elevated)$", re.I)),
    (3, re.compile(r"^(?:low|minor|trivial|cosmetic)$", re.I)),
    (4, re.compile(r"^(?:info|informational|notification|notice|none|planning)$", re.I)),
]


def normal(name: str) -> str:
    """'Sev 1', 'SEV-1' and 'sev1' are one name."""
    return re.sub(r"[\s_-]+", "", (name or "").strip()).casefold()


def meaning(name: str) -> int | None:
    """The place a word-named level has on any scale (critical 0 ... informational 4); None for 'P1'."""
    words = (name or "").strip()
    for rank, pattern in _MEANINGS:
        if pattern.match(words):
            return rank
    return None


@dataclass
class Decision:
    name: str  # the imported level's name
    action: str  # "same" (found by name or alias), "create", "alias"
    level: object | None  # the existing level it is, or becomes an alias of
    rank: int  # where a created level goes
    reason: str

    def __str__(self) -> str:
        if self.action == "create":
            return f"{self.name}: a new level at rank {self.rank} ({self.reason})"
        if self.action == "alias":
            return f"{self.name}: an alias of {self.level.name} ({self.reason})"
        return f"{self.name}: {self.level.name} ({self.reason})"


def reconcile(imported: list, existing: list) -> list[Decision]:
    """Decide, for each imported level (name, rank), what it is in the matrix `existing` (name, aliases,
    rank), most severe first. Pure: neither list is changed."""
    levels = sorted(existing, key=lambda level: level.rank)
    known: dict[str, object] = {}
    for level in levels:
        for name in (level.name, *(level.aliases or [])):
            known.setdefault(normal(name), level)
    scale = sorted(imported, key=lambda item: item.rank if isinstance(item.rank, int) else 0)
    decisions: list[Decision] = []
    next_rank = (max(level.rank for level in levels) + 1) if levels else 0
    used: set[int] = set()
    for position, item in enumerate(scale):
        found = known.get(normal(item.name))
        if found is not None:
            same = normal(found.name) == normal(item.name)
            reason = "already in the matrix" if same else "a known alias"
            decisions.append(Decision(item.name, "same", found, found.rank, reason))
            used.add(id(found))
            continue
        if not levels:
            rank = position if not decisions else max(d.rank for d in decisions) + 1
            decisions.append(Decision(item.name, "create", None, rank, "the matrix was empty"))
            continue
        alike = _same_meaning(item.name, levels)
        if alike is not None:
            decisions.append(Decision(item.name, "alias", alike, alike.rank, "same meaning"))
            used.add(id(alike))
            continue
        if position < len(levels) and id(levels[position]) not in used:
            level = levels[position]
            reason = f"same rank: level {position + 1} of the scale"
            decisions.append(Decision(item.name, "alias", level, level.rank, reason))
            used.add(id(level))
            continue
        decisions.append(Decision(item.name, "create", None, next_rank, "the matrix has no level this far down"))
        next_rank += 1
    return decisions


def _same_meaning(name: str, levels: list):
    wanted = meaning(name)
    if wanted is None:
        return None
    for level in levels:
        if any(meaning(n) == wanted for n in (level.name, *(level.aliases or []))):
            return level
    return None
