"""Choices and fixed vocabularies of the incidents app: statuses and their moves, roles, timeline kinds."""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    DECLARED = "declared", "Declared"
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# Forward moves, plus the step back an SRE really takes: a fix that did not hold, a reopened incident.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.DECLARED: (Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED),
    Status.INVESTIGATING: (Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED),
    Status.IDENTIFIED: (Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED),
    Status.MITIGATED: (Status.INVESTIGATING, Status.RESOLVED),
    Status.RESOLVED: (Status.INVESTIGATING, Status.CLOSED),
    Status.CLOSED: (),
}
OPEN_STATUSES = (Status.DECLARED, Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED)

ROLES = {"commander": "Commander", "communications_lead": "Communications lead", "scribe": "Scribe"}



class EventKind(models.TextChoices):
    DECLARED = "declared", "Declared"
    STATUS = "status", "Status change"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ROLE = "role", "Role change"
    RUNBOOK = "runbook", "Runbook attached"
    CHECKLIST = "checklist", "Checklist"
    NOTE = "note", "Note"
    COMMAND = "command", "Command"
    SEVERITY = "severity", "Severity change"
    NOTIFICATION = "notification", "Notification"
    ESCALATION = "escalation", "Escalation"
    ALERT = "alert", "Alert"
    MILESTONE = "milestone", "Milestone edited"
    POSTMORTEM = "postmortem", "Postmortem"
    ACTION = "action", "Action item"


class EventSource(models.TextChoices):
    WEB = "web", "Web"
    WORKER = "worker", "Worker"
    SYSTEM = "system", "System"
    ALERT = "alert", "Alert"
