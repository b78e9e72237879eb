"""Action items raised by a postmortem, tracked until each is done (or deliberately not done), and their reminders.

An item may point at a runbook ("update runbook X"). Runbooks know nothing of incidents, so the item keeps the
runbook's version number when it was raised; a runbook that has a newer version since is the item's cue to
offer closing itself. Reminders are rows, unique per (item, kind, due date): each fires once.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from runbooks.models import Runbook

from ..choices import EventKind
from .incident import Incident, IncidentError, _name

User = settings.AUTH_USER_MODEL
MAX_DESCRIPTION = 500


class ActionItemQuerySet(models.QuerySet):
    def open(self) -> ActionItemQuerySet:
        return self.filter(status=ActionItem.Status.OPEN)

    def overdue(self, today: date | None = None) -> ActionItemQuerySet:
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def for_list(self) -> ActionItemQuerySet:
        return self.select_related("incident__severity", "owner", "runbook").order_by(
            "due_date", "priority", "pk")


class ActionItem(models.Model):
    """Something to do so it does not happen again: who, by when, how urgent, and how it ended."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        NOT_DOING = "not_doing", "Not doing"

    class Priority(models.IntegerChoices):
        HIGH = 1, "High"
        MEDIUM = 2, "Medium"
        LOW = 3, "Low"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    description = models.CharField(max_length=MAX_DESCRIPTION)
    owner = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="action_items")
    due_date = models.DateField()
    priority = models.PositiveSmallIntegerField(choices=Priority, default=Priority.MEDIUM)
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN)
    reason = models.TextField(blank=True, help_text="Why it is not being done, or how it was closed")
    runbook = models.ForeignKey(Runbook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    runbook_version = models.PositiveIntegerField(null=True, blank=True, help_text="The runbook's version when raised")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "priority", "pk"]
        indexes = [
            models.Index(fields=["status", "due_date"], name="action_status_due"),
            models.Index(fields=["runbook", "status"], name="action_runbook_status"),
        ]

    def __str__(self) -> str:
        return self.description[:80]

    def get_absolute_url(self) -> str:
        return reverse("incidents:postmortem", args=[self.incident_id]) + f"#action-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_date < timezone.localdate()

    @property
    def runbook_has_new_version(self) -> bool:
        """The runbook changed since the item was raised: the cue to offer closing it."""
        return bool(self.is_open and self.runbook_id and self.runbook_version is not None
                    and self.runbook.version > self.runbook_version)

    @staticmethod
    def default_due_date(severity, today: date | None = None) -> date:
        from .postmortem import PostmortemPolicy

        return (today or timezone.localdate()) + timedelta(days=PostmortemPolicy.current().due_in_days(severity))

    @classmethod
    def raise_item(cls, incident: Incident, *, description: str, owner, due_date: date | None, by,
                   priority: int = Priority.MEDIUM, runbook: Runbook | None = None) -> ActionItem:
        description = " ".join((description or "").split())
        if not description:
            raise IncidentError("Describe what is to be done.")
        if len(description) > MAX_DESCRIPTION:
            raise IncidentError(f"Keep the description under {MAX_DESCRIPTION} characters.")
        if owner is None or not getattr(owner, "pk", None) or not owner.is_active:
            raise IncidentError("Give the item an owner: a person with an account on the console.")
        if priority not in cls.Priority.values:
            raise IncidentError("Choose high, medium or low priority.")
        today = timezone.localdate()
        due_date = due_date or cls.default_due_date(incident.severity, today)
        if due_date < today:
            raise IncidentError(f"The due date {due_date:%d %b %Y} is in the past; choose today or later.")
        with transaction.atomic():
            incident._locked()
            from .postmortem import Postmortem

            if Postmortem.objects.filter(incident=incident, state=Postmortem.State.PUBLISHED).exists():
                raise IncidentError("The postmortem is published; its action items can be closed, not added.")
            item = cls.objects.create(
                incident=incident, description=description, owner=owner, due_date=due_date, priority=priority,
                runbook=runbook, runbook_version=runbook.version if runbook else None, created_by=by)
            incident._event(EventKind.ACTION, by, f"Action item for {_name(owner)}, due {due_date:%d %b %Y}: "
                            f"{description}", data={"item": item.pk, "status": item.status})
            incident._bump()
        return item

    def _move(self, to: str, *, by, reason: str = "", expected: tuple[str, ...]) -> None:
        with transaction.atomic():
            incident = Incident.objects.select_for_update().get(pk=self.incident_id)
            now = timezone.now()
            closing = to != self.Status.OPEN
            if ActionItem.objects.filter(pk=self.pk, status__in=expected).update(
                    status=to, reason=reason, closed_by=by if closing else None,
                    closed_at=now if closing else None) != 1:
                current = ActionItem.objects.get(pk=self.pk)
                raise IncidentError(f"“{self.description[:60]}” is already {current.get_status_display().lower()}.")
            self.status, self.reason = to, reason
            self.closed_by, self.closed_at = (by, now) if closing else (None, None)
            verb = {self.Status.DONE: "done", self.Status.NOT_DOING: "not being done",
                    self.Status.OPEN: "reopened"}[to]
            incident._event(EventKind.ACTION, by, f"Action item {verb}: {self.description}"
                            + (f" ({reason})" if reason else ""), data={"item": self.pk, "status": to})
            incident._bump()

    def complete(self, *, by, note: str = "") -> None:
        self._move(self.Status.DONE, by=by, reason=(note or "").strip()[:500], expected=(self.Status.OPEN,))

    def decline(self, *, by, reason: str) -> None:
        reason = (reason or "").strip()
        if not reason:
            raise IncidentError("Say why it is not being done.")
        if len(reason) > 500:
            raise IncidentError("Keep the reason under 500 characters.")
        self._move(self.Status.NOT_DOING, by=by, reason=reason, expected=(self.Status.OPEN,))

    def reopen(self, *, by) -> None:
        self._move(self.Status.OPEN, by=by, expected=(self.Status.DONE, self.Status.NOT_DOING))

    def close_for_runbook_version(self, *, by) -> None:
        """Done because the runbook it asked to update has a new version."""
        if not self.runbook_has_new_version:
            raise IncidentError("The runbook has no new version since this item was raised.")
        self.complete(by=by, note=f"closed by v{self.runbook.version} of “{self.runbook.title}”")


class ActionReminder(models.Model):
    """One reminder to an item's owner: before the due date, or once it is overdue. Unique, so sent once."""

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", "Due soon"
        OVERDUE = "overdue", "Overdue"

    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind)
    due_date = models.DateField(help_text="The due date it reminds of (a new due date earns new reminders)")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "kind", "due_date"], name="action_reminder_once")]
        indexes = [models.Index(fields=["sent_at"], condition=Q(sent_at__isnull=True), name="reminder_unsent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} reminder for {self.item}"
