"""The recognisers, in the order they run. Each knows one shape; add a new shape here, as a new module.

Classes, not instances: every document gets fresh recognisers, so one parse never sees another's state.
"""

from __future__ import annotations

from runbooks.importer.recognisers.base import BlockRecogniser, Found, RunbookRecogniser
from runbooks.importer.recognisers.contacts import ContactsList, ContactsTable
from runbooks.importer.recognisers.escalation_table import EscalationTable
from runbooks.importer.recognisers.front_matter import FrontMatterAlert
from runbooks.importer.recognisers.heading_runbooks import HeadingRunbooks
from runbooks.importer.recognisers.severity_list import SeverityList
from runbooks.importer.recognisers.severity_table import SeverityTable
from runbooks.importer.recognisers.sop import SopEntries

# Document-level blocks first, so their lists and tables never become steps. Escalation before severity:
# a table with notify/action columns is an escalation matrix even when it also has a response time.
BLOCK_RECOGNISERS: list[type[BlockRecogniser]] = [
    EscalationTable,
    SeverityTable,
    SeverityList,
    ContactsTable,
    ContactsList,
]

# SOP entries before headings: an SOP file's headings are only section dividers.
RUNBOOK_RECOGNISERS: list[type[RunbookRecogniser]] = [
    SopEntries,
    HeadingRunbooks,
    FrontMatterAlert,
]

__all__ = ["BLOCK_RECOGNISERS", "RUNBOOK_RECOGNISERS", "Found"]
