"""Runbooks attached to an incident, and the checklist items copied from their pinned versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from runbooks.models import Phase, Runbook, RunbookVersion

from ..choices import EventKind, Status
from .incident import Incident, IncidentError, _name

User = settings.AUTH_USER_MODEL


class IncidentRunbook(models.Model):
    """A runbook attached to an incident, pinned to the version in force when attached."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="runbooks")
    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="incident_links")
    version = models.ForeignKey(RunbookVersion, on_delete=models.PROTECT, related_name="+")
    attached_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["attached_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["incident", "runbook"], name="incident_runbook_once")]

    def __str__(self) -> str:
        return f"{self.runbook} v{self.version.number}"


class ChecklistItem(models.Model):
    """A step copied from a pinned runbook version; ticked, skipped or reopened by someone, at a time."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="checklist")
    incident_runbook = models.ForeignKey(IncidentRunbook, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveIntegerField()
    phase = models.CharField(max_length=20, choices=Phase, default=Phase.OTHER)
    heading = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    commands = models.JSONField(default=list, blank=True, help_text="The step's commands, as pinned")
    state = models.CharField(max_length=10, choices=State, default=State.OPEN)
    skip_reason = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident_runbook", "order"]
        indexes = [models.Index(fields=["incident", "state"], name="checklist_incident_state")]

    def __str__(self) -> str:
        return self.text[:80] or self.heading

    @property
    def label(self) -> str:
        return self.text or self.heading or (self.commands[0]["text"] if self.commands else f"Step {self.order + 1}")

    def _change(self, *, by, to: str, reason: str = "", expected: tuple[str, ...]) -> None:
        with transaction.atomic():
            incident = Incident.objects.select_for_update().get(pk=self.incident_id)
            if incident.status == Status.CLOSED:
                raise IncidentError("The incident is closed; its checklist can no longer change.")
            now = timezone.now()
            # A conditional update: of two people ticking at once, one wins and one is told.
            changed = ChecklistItem.objects.filter(pk=self.pk, state__in=expected).update(
                state=to, skip_reason=reason, changed_by=by, changed_at=now
            )
            if changed != 1:
                current = ChecklistItem.objects.select_related("changed_by").get(pk=self.pk)
                raise IncidentError(
                    f"“{self.label[:60]}” is already {current.get_state_display().lower()}"
                    + (f" by {_name(current.changed_by)}." if current.changed_by else ".")
                )
            self.state, self.skip_reason, self.changed_by_id, self.changed_at = to, reason, by.pk, now
            verb = {self.State.DONE: "Done", self.State.SKIPPED: "Skipped", self.State.OPEN: "Reopened"}[to]
            if to != self.State.OPEN:  # written first: the step stays the latest news
                incident.acknowledged_by_work(by, "tick" if to == self.State.DONE else "skip")
            incident._event(EventKind.CHECKLIST, by, f"{verb}: {self.label[:200]}" + (f" ({reason})" if reason else ""),
                            data={"item": self.pk, "state": to, "reason": reason})
            incident._bump()

    def tick(self, *, by) -> None:
        self._change(by=by, to=self.State.DONE, expected=(self.State.OPEN,))

    def skip(self, *, by, reason: str) -> None:
        reason = (reason or "").strip()
        if not reason:
            raise IncidentError("Say why the step is skipped.")
        if len(reason) > 500:
            raise IncidentError("Keep the reason under 500 characters.")
        self._change(by=by, to=self.State.SKIPPED, reason=reason, expected=(self.State.OPEN,))

    def reopen(self, *, by) -> None:
        self._change(by=by, to=self.State.OPEN, expected=(self.State.DONE, self.State.SKIPPED))
