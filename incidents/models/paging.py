"""Escalation state and the outbox of pages, held in the database (the engine is incidents/paging.py).

- `Escalation`: one row per incident. Declaring snapshots the policy onto it (later policy edits do not change a
  running escalation) with the position of the tier that fires next and when (`next_due_at`). The engine's tick
  claims due rows with `SELECT … FOR UPDATE SKIP LOCKED` (of the escalation and its incident, the order every
  other writer takes them in), writes the pages and moves the position, in one transaction. Acknowledging or
  resolving the incident stops it in the transaction that changes the incident.
- `Page`: the outbox. One row per (incident, tier, repeat, target, channel) under a unique constraint, written in
  the engine's transaction; delivery tasks only send rows that exist, and claim each one (pending → sending)
  before sending. Every page ends sent, failed, skipped (nobody to send to) or cancelled (acknowledged before it
  went out), with a timeline event.

Broker ETAs hold no state: a retry's countdown is only a hint, and the tick re-sends pages whose attempt is due
but whose task never came (a flushed broker, a worker killed mid-send).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from runbooks.models import Contact, EscalationPolicy

from .incident import Incident

User = settings.AUTH_USER_MODEL
MANUAL_TIER = -1  # "page now": the repeat number counts the manual pages of the incident


class Escalation(models.Model):
    """Where an incident's escalation stands: its policy snapshot, the tier that fires next and when."""

    class State(models.TextChoices):
        ACTIVE = "active", "Escalating"
        ACKNOWLEDGED = "acknowledged", "Stopped: acknowledged"
        RESOLVED = "resolved", "Stopped: resolved"
        FINISHED = "finished", "Every tier paged"
        NO_POLICY = "no_policy", "No policy"

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="escalation")
    policy = models.ForeignKey(EscalationPolicy, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="escalations")
    snapshot = models.JSONField(default=dict, blank=True)
    generation = models.PositiveSmallIntegerField(default=1, help_text="Bumped at each re-snapshot")
    state = models.CharField(max_length=20, choices=State, default=State.ACTIVE)
    next_tier = models.PositiveSmallIntegerField(default=0)
    next_repeat = models.PositiveSmallIntegerField(default=0)
    next_due_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    manual_pages = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stop_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            # The tick's claim: due active rows, oldest first; stopped rows are not in the index at all.
            models.Index(fields=["next_due_at"], condition=models.Q(state="active"), name="escalation_due"),
        ]

    def __str__(self) -> str:
        return f"Escalation of {self.incident_id} ({self.state})"

    @property
    def tiers(self) -> list[dict]:
        return list((self.snapshot or {}).get("tiers") or [])

    @property
    def repeat(self) -> int:
        return int((self.snapshot or {}).get("repeat") or 0)

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def position(self) -> str:
        """What a "jump to tier" form was built from: a click made on an older position is refused as stale."""
        return f"{self.generation}:{self.state}:{self.next_tier}:{self.next_repeat}"


class PageQuerySet(models.QuerySet):
    def outstanding(self):
        return self.filter(state__in=(Page.State.PENDING, Page.State.SENDING))


class Page(models.Model):
    """One message to one contact over one channel: the outbox row, then the record of what happened."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    class Kind(models.TextChoices):
        TIER = "tier", "Tier"
        MANUAL = "manual", "Paged by hand"
        SEVERITY = "severity", "Severity raised"
        RENOTIFY = "renotify", "New alert"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="pages")
    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="pages")
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.TIER)
    tier = models.SmallIntegerField(help_text="Index in the snapshot's tiers; -1 for a page sent by hand")
    repeat = models.PositiveIntegerField(default=0)
    target = models.CharField(max_length=200, help_text="contact:<id> reached, or what could not be (rotation:…)")
    channel = models.CharField(max_length=10, help_text="email, chat, or none when skipped")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="pages")
    name = models.CharField(max_length=200)
    via = models.CharField(max_length=200, blank=True, help_text="The team or rotation it was reached through")
    address = models.CharField(max_length=300, blank=True, help_text="Email address or channel name; never a URL")
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, help_text="When the tier was due (delay is measured from it)")
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ack_used_at = models.DateTimeField(null=True, blank=True, help_text="When its acknowledge link was used")

    objects = PageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "tier", "repeat", "target", "channel"], name="page_once"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(state__in=["pending", "sending"]),
                         name="page_outbox"),
            models.Index(fields=["incident", "created_at"], name="page_incident_created"),
        ]

    def __str__(self) -> str:
        return f"Page {self.pk} to {self.name} by {self.channel} ({self.state})"

    @property
    def tier_label(self) -> str:
        if self.tier == MANUAL_TIER:
            return "by hand"
        return f"tier {self.tier + 1}" + (f", repeat {self.repeat}" if self.repeat else "")
