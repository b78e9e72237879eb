"""The recognisers of document-level material, in the order they run. Each knows one shape; add a new
shape here, as a new module. Runbooks themselves come from the document's shape (runbooks.importer.shape).

Classes, not instances: every document gets fresh recognisers, so one parse never sees another's state.
"""

from __future__ import annotations

from runbooks.importer.recognisers.base import BlockRecogniser, Found, TreeRecogniser
from runbooks.importer.recognisers.contacts import ContactsList, ContactsTable
from runbooks.importer.recognisers.escalation_list import EscalationList
from runbooks.importer.recognisers.escalation_table import EscalationTable
from runbooks.importer.recognisers.prose_contacts import ProseContacts
from runbooks.importer.recognisers.prose_escalation import ProseEscalation
from runbooks.importer.recognisers.severity_list import SeverityList
from runbooks.importer.recognisers.severity_table import SeverityTable

# Document-level blocks first, so their lists and tables never become steps. Escalation before severity:
# a table with notify/action columns is an escalation matrix even when it also has a response time.
BLOCK_RECOGNISERS: list[type[BlockRecogniser]] = [
    EscalationTable,
    EscalationList,
    SeverityTable,
    SeverityList,
    ContactsTable,
    ContactsList,
]

# After the runbooks are read: what prose says about who to reach and how escalation goes.
PROSE_RECOGNISERS: list[type[TreeRecogniser]] = [
    ProseContacts,
    ProseEscalation,
]

__all__ = ["BLOCK_RECOGNISERS", "PROSE_RECOGNISERS", "Found"]
