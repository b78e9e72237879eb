"""What the organisation knows, one module per concern; import from here (`from runbooks.models import Runbook`).

- library: runbooks, steps, commands, versions, source documents, the severity matrix
- people: contacts (people, teams, chat channels) and services
- oncall: rotations with their members and overrides
- escalation: escalation policies and their tiers
- imports: uploads waiting for an admin's decision, and imports running in the background
"""

from .escalation import (
    EscalationPolicy,
    EscalationPolicyQuerySet,
    EscalationTier,
    TierSpec,
    find_by_names,
    policy_problems,
    tier_spec,
)
from .imports import ImportFile, ImportJob
from .library import Command, Phase, Runbook, RunbookVersion, SeverityLevel, SourceDocument, Step
from .oncall import Rotation, RotationMember, RotationOverride, Shift
from .people import CHAT, EMAIL, Channel, Contact, ContactQuerySet, Person, Route, Service, Team

__all__ = [
    "CHAT", "EMAIL", "Channel", "Command", "Contact", "ContactQuerySet", "EscalationPolicy",
    "EscalationPolicyQuerySet", "EscalationTier", "ImportFile", "ImportJob", "Person", "Phase", "Rotation",
    "RotationMember", "RotationOverride", "Route", "Runbook", "RunbookVersion", "Service", "SeverityLevel", "Shift",
    "SourceDocument", "Step", "Team", "TierSpec", "find_by_names", "policy_problems", "tier_spec",
]
