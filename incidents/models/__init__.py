"""What happened, one module per concern: the incident and its timeline, checklists, command runs, paging.

Import models from here (`from incidents.models import Incident`); vocabularies live in `incidents.choices`.
"""

from ..choices import OPEN_STATUSES, ROLES, TRANSITIONS, EventKind, EventSource, Status
from .actions import ActionItem, ActionItemQuerySet, ActionReminder
from .alerts import Alert, AlertDelivery, AlertGroup, Integration
from .checklist import ChecklistItem, IncidentRunbook
from .incident import Incident, IncidentError, IncidentQuerySet, TimelineEvent, TimelineEventQuerySet
from .paging import MANUAL_TIER, Escalation, Page, PageQuerySet
from .postmortem import (
    SECTIONS,
    Postmortem,
    PostmortemPolicy,
    PostmortemRevision,
    PostmortemSection,
    SectionConflict,
)
from .runs import (
    PANEL_OUTPUT_TAIL,
    PANEL_RUNS,
    TRUNCATION_MARKER,
    CommandRun,
    CommandRunQuerySet,
    ExecutionTarget,
    RunPlan,
    RunsPanel,
)

__all__ = [
    "Alert", "AlertDelivery", "AlertGroup", "Integration",
    "SECTIONS", "ActionItem", "ActionItemQuerySet", "ActionReminder", "Postmortem", "PostmortemPolicy",
    "PostmortemRevision", "PostmortemSection", "SectionConflict",
    "OPEN_STATUSES", "PANEL_OUTPUT_TAIL", "PANEL_RUNS", "ROLES", "TRANSITIONS",
    "TRUNCATION_MARKER", "ChecklistItem", "CommandRun", "CommandRunQuerySet", "EventKind", "EventSource",
    "ExecutionTarget", "Incident", "IncidentError", "IncidentQuerySet", "IncidentRunbook", "RunPlan", "RunsPanel",
    "Status", "TimelineEvent", "TimelineEventQuerySet",
    "MANUAL_TIER", "Escalation", "Page", "PageQuerySet",
]
