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

    def follow_current(self, *, by) -> RunbookVersion:
        """Move this checklist to the runbook's latest version: open steps follow it, done steps keep what was done.

        Steps are matched by heading and text. A done or skipped step stays as it was (its commands as pinned);
        an open step still in the new version takes its new place and commands; an open step the new version
        dropped goes (a run of it keeps its record); a new step is added open. One timeline event says so.
        """
        with transaction.atomic():
            incident = Incident.objects.select_for_update().get(pk=self.incident_id)
            if incident.status == Status.CLOSED:
                raise IncidentError("The incident is closed; its checklists can no longer change.")
            link = IncidentRunbook.objects.select_for_update().select_related("version", "runbook").get(pk=self.pk)
            newest = link.runbook.current_version()
            if newest is None or newest.number <= link.version.number:
                raise IncidentError(f"The checklist already follows the latest version (v{link.version.number}).")
            steps = newest.snapshot.get("steps", [])
            items = {}
            for item in link.items.order_by("order"):
                items.setdefault((item.heading, item.text), []).append(item)
            kept_done = added = followed = 0
            changed, created = [], []
            for order, step in enumerate(steps):
                key = (step.get("heading") or "", step.get("text") or "")
                same = items.get(key) or []
                item = same.pop(0) if same else None
                if item is None:
                    created.append(ChecklistItem(
                        incident=incident, incident_runbook=link, order=order, phase=step.get("phase") or Phase.OTHER,
                        heading=key[0], text=key[1], commands=step.get("commands", [])))
                    added += 1
                    continue
                item.order = order
                if item.state == ChecklistItem.State.OPEN:
                    item.phase, item.commands = step.get("phase") or Phase.OTHER, step.get("commands", [])
                    followed += 1
                else:
                    kept_done += 1
                changed.append(item)
            leftovers = [i for group in items.values() for i in group]
            dropped = [i.pk for i in leftovers if i.state == ChecklistItem.State.OPEN]
            for n, item in enumerate(i for i in leftovers if i.state != ChecklistItem.State.OPEN):
                item.order = len(steps) + n  # done in the old version, not in the new: kept, after the rest
                changed.append(item)
                kept_done += 1
            ChecklistItem.objects.filter(pk__in=dropped).delete()
            ChecklistItem.objects.bulk_update(changed, ["order", "phase", "commands"])
            ChecklistItem.objects.bulk_create(created)
            old = link.version.number
            IncidentRunbook.objects.filter(pk=link.pk).update(version=newest)
            self.version = newest
            incident._event(
                EventKind.RUNBOOK, by,
                f"Checklist “{link.runbook.title}” updated from v{old} to v{newest.number}: {followed + added} open "
                f"step{'s' if followed + added != 1 else ''} follow the new version ({added} new, {len(dropped)} "
                f"dropped); {kept_done} done or skipped kept as they were",
                data={"runbook": link.runbook_id, "from": old, "to": newest.number, "added": added,
                      "dropped": len(dropped), "kept": kept_done})
            incident._bump()
        return newest


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
