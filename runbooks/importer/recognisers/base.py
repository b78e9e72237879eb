"""What every recogniser shares: where findings go, and the two kinds of recogniser.

A block recogniser knows one shape of document-level block (a severity table, a contacts list...) and claims
the blocks it understands. A tree recogniser reads the whole tree: SOP entries (claiming what it turns into
runbooks), contacts and escalation written in prose. A new document style is a new recogniser added to the
lists in `runbooks.importer.recognisers`, not a branch in an existing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from runbooks.importer.sections import Block, Section, Tree
from runbooks.importer.types import ImportedContact, ImportedEscalation, ImportedRunbook, ImportedSeverity


@dataclass
class Found:
    """Everything recognised so far in one document."""

    severity_levels: list[ImportedSeverity] = field(default_factory=list)
    contacts: list[ImportedContact] = field(default_factory=list)
    escalation: list[ImportedEscalation] = field(default_factory=list)
    runbooks: list[tuple[int, ImportedRunbook]] = field(default_factory=list)  # (line, runbook)
    warnings: list[str] = field(default_factory=list)
    _said: set[str] = field(default_factory=set, repr=False)

    def add_runbook(self, line: int, runbook: ImportedRunbook) -> None:
        self.runbooks.append((line, runbook))

    def warn(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self.warnings.append(message)


class BlockRecogniser(Protocol):
    def claim(self, block: Block, section: Section, found: Found) -> bool:
        """Record what the block holds and return True when it is this recogniser's shape."""


class TreeRecogniser(Protocol):
    def recognise(self, tree: Tree, found: Found) -> None:
        """Add what this recogniser knows how to read in the whole tree (claiming blocks it turns into
        runbooks, or only reading prose for contacts and escalation)."""
