"""The incident and its timeline.

Every change to an incident, or to anything under it, happens in a model method that locks the
incident row, makes the change, appends a timeline event and bumps `Incident.revision`, all in one
transaction. Live pages compare revisions to know whether anything changed. The command-runs panel has its own
version, `Incident.runs_revision`, bumped with every change to a run (its state, and each piece of output it
prints), so a command printing moves the panel and nothing else on the page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from runbooks.models import Phase, Runbook, Service, SeverityLevel

from ..choices import OPEN_STATUSES, ROLES, TRANSITIONS, EventKind, EventSource, Status
from .milestones import Milestones

if TYPE_CHECKING:
    from .checklist import IncidentRunbook

User = settings.AUTH_USER_MODEL


class IncidentError(Exception):
    """A change that cannot be made; the message is meant for the person who asked."""


class IncidentQuerySet(models.QuerySet):
    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def recently_resolved(self, days: int = 7) -> IncidentQuerySet:
        since = timezone.now() - timedelta(days=days)
        return self.filter(status__in=(Status.RESOLVED, Status.CLOSED), resolved_at__gte=since)

    def by_urgency(self) -> IncidentQuerySet:
        return self.order_by("severity__rank", "declared_at")


class Incident(Milestones, models.Model):
    """An incident, from declaration to close (its milestones and their rules: milestones.py)."""

    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    severity = models.ForeignKey(SeverityLevel, on_delete=models.PROTECT, related_name="incidents")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents")
    status = models.CharField(max_length=20, choices=Status, default=Status.DECLARED)
    commander = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    communications_lead = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scribe = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    declared_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    impact_started_at = models.DateTimeField(null=True, blank=True)
    declared_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    investigating_at = models.DateTimeField(null=True, blank=True)
    identified_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set once the incident is at a severity whose destructive commands need a second person; never unset, so
    # lowering the severity does not lift the two-person rule (CommandRun.needs_second_person).
    ever_needed_second_approval = models.BooleanField(default=False, editable=False)
    # Bumped in the same transaction as any change to the incident or anything under it.
    revision = models.PositiveIntegerField(default=1)
    # The command-runs panel's own version: bumped with every change to a run, output included (see _bump).
    runs_revision = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at"]
        indexes = [
            models.Index(fields=["status", "declared_at"], name="incident_status_declared"),
            models.Index(fields=["resolved_at"], name="incident_resolved_at"),  # the dashboard's recent list
        ]
        permissions = [
            ("respond_incident", "Can tick checklist items and add notes"),
            ("command_incident", "Can change status, roles, severity and attached runbooks"),
            ("run_command", "Can dispatch runbook commands"),
            ("approve_command", "Can approve another person's destructive command"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def allowed_transitions(self) -> tuple[str, ...]:
        return TRANSITIONS[self.status]

    @property
    def response_due_at(self):
        """Acknowledgement due: the severity's response time after impact started."""
        if self.severity.response_minutes is None:
            return None
        return self.impact_start + timedelta(minutes=self.severity.response_minutes)

    @property
    def response_breached(self) -> bool:
        """No acknowledgement within the severity's response time."""
        due = self.response_due_at
        if due is None:
            return False
        return (self.acknowledged_at or timezone.now()) > due

    # Durations run from impact started, as milestones.py defines them.
    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return self.duration_to("acknowledged")

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self.duration_to("mitigated")

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.duration_to("resolved")

    @property
    def response_time(self) -> timedelta | None:
        minutes = self.severity.response_minutes
        return timedelta(minutes=minutes) if minutes is not None else None

    # --- changes: each locks the row, changes, records an event and bumps the revision -------------

    @classmethod
    def declare(
        cls, *, title: str, severity: SeverityLevel, by, service: Service | None = None, summary: str = "",
        commander=None, impact_started_at=None, runbooks: list[Runbook] = (), source: str = EventSource.WEB,
        acknowledged: bool = False,
    ) -> Incident:
        """`acknowledged`: the person declaring is on it (declared in the browser), so it counts as their
        acknowledgement; the escalation policy's first tier is still paged (paging.stop_escalation keeps it)."""
        from ..titles import title_problem

        title = (title or "").strip()
        if not title:
            raise IncidentError("Give the incident a title.")
        if problem := title_problem(title):
            raise IncidentError(problem)
        if len(title) > 200:
            raise IncidentError("Keep the title under 200 characters.")
        now = timezone.now()
        # Impact cannot start after the declaration (an alert's clock ahead of ours); it defaults to it.
        impact_started_at = min(impact_started_at, now) if impact_started_at else now
        with transaction.atomic():
            incident = cls.objects.create(
                title=title, summary=summary, severity=severity, service=service, declared_by=by,
                commander=commander, impact_started_at=impact_started_at, declared_at=now,
                ever_needed_second_approval=severity.needs_second_approval,
            )
            incident._event(EventKind.DECLARED, by, f"Declared {severity.name}: {title}", source=source,
                            data={"severity": severity.name, "service": service.name if service else None})
            if commander is not None:
                incident._event(EventKind.ROLE, by, f"{_name(commander)} is commander",
                                data={"role": "commander", "user": commander.pk})
            for runbook in runbooks:
                incident._attach(runbook, by, source=source)
            from incidents.paging import start_escalation  # the engine imports these models
            start_escalation(incident, by=by)
            if acknowledged and getattr(by, "pk", None):
                Incident.objects.filter(pk=incident.pk).update(acknowledged_at=now, acknowledged_by=by)
                incident.acknowledged_at, incident.acknowledged_by = now, by
                incident._event(EventKind.ACKNOWLEDGED, by, f"Acknowledged by {_name(by)}: they declared it",
                                source=source, data={"by_work": "declared"})
                incident._stop_escalation("acknowledged", by)
        return incident

    def _locked(self) -> Incident:
        """Re-read this incident under a row lock; callers must be inside atomic()."""
        locked = Incident.objects.select_for_update().select_related("severity").get(pk=self.pk)
        self.__dict__.update({f.attname: getattr(locked, f.attname) for f in self._meta.concrete_fields})
        return self

    def _bump(self, *, runs: bool = False) -> None:
        """Move the revision (and, for a change to a command run, the runs panel's too)."""
        changes = {"revision": F("revision") + 1, "updated_at": timezone.now()}
        if runs:
            changes["runs_revision"] = F("runs_revision") + 1
        Incident.objects.filter(pk=self.pk).update(**changes)
        self.revision += 1
        if runs:
            self.runs_revision += 1

    def _event(self, kind: str, actor, message: str, *, data: dict | None = None,
               source: str = EventSource.WEB) -> TimelineEvent:
        return TimelineEvent.objects.create(
            incident=self, kind=kind, actor=actor if getattr(actor, "pk", None) else None,
            source=source, message=message, data=data or {},
        )

    def record(self, kind: str, actor, message: str, *, data: dict | None = None,
               source: str = EventSource.WEB, runs: bool = False) -> TimelineEvent:
        """Append an event and bump the revision, for changes made under the incident (e.g. command runs)."""
        with transaction.atomic():
            event = self._event(kind, actor, message, data=data, source=source)
            self._bump(runs=runs)
        return event

    def check_revision(self, revision: int | None) -> None:
        """Refuse a form built from an older state of the incident (call with the row locked)."""
        if revision is not None and revision != self.revision:
            raise IncidentError("Someone else changed this incident while you were looking; review and try again.")

    def acknowledge(self, *, by, revision: int | None = None, name: str = "", source: str = EventSource.WEB,
                    data: dict | None = None) -> None:
        """`name` says who when it is not a console user (a contact following the link in their page)."""
        with transaction.atomic():
            self._locked()
            if self.acknowledged_at is not None:
                raise IncidentError(f"Already acknowledged by {_name(self.acknowledged_by) or 'someone'}.")
            now = timezone.now()
            Incident.objects.filter(pk=self.pk).update(acknowledged_at=now, acknowledged_by=by)
            self.acknowledged_at, self.acknowledged_by = now, by
            self._event(EventKind.ACKNOWLEDGED, by, f"Acknowledged by {name or _name(by)}", source=source,
                        data=data)
            self._stop_escalation("acknowledged", by, name=name)
            self._bump()

    def acknowledged_by_work(self, by, what: str) -> bool:
        """The first tick, note or run by a person acknowledges an incident nobody acknowledged yet (one that came
        from an alert): they are on it. Call with the row locked, inside the change's transaction; the timeline
        says what counted. Returns whether it acknowledged now."""
        if self.acknowledged_at is not None or not getattr(by, "pk", None) or self.status not in OPEN_STATUSES:
            return False
        now = timezone.now()
        if Incident.objects.filter(pk=self.pk, acknowledged_at__isnull=True).update(
                acknowledged_at=now, acknowledged_by=by) != 1:
            return False
        self.acknowledged_at, self.acknowledged_by = now, by
        self._event(EventKind.ACKNOWLEDGED, by, f"Acknowledged by {_name(by)}: their {what} counts as one",
                    data={"by_work": what})
        self._stop_escalation("acknowledged", by)
        return True

    def transition(self, to: str, *, by, revision: int | None = None, note: str = "",
                   source: str = EventSource.WEB) -> None:
        with transaction.atomic():
            self._locked()
            self.check_revision(revision)
            if to not in TRANSITIONS.get(self.status, ()):
                label = Status(to).label if to in Status.values else repr(to)
                raise IncidentError(f"An incident that is {self.get_status_display().lower()} cannot become {label}.")
            if to == Status.CLOSED and (needs := self.closing_needs()):
                raise IncidentError("It cannot be closed yet: " + " ".join(needs))
            now = timezone.now()
            changes: dict = {"status": to}
            stamp = {Status.INVESTIGATING: "investigating_at", Status.IDENTIFIED: "identified_at",
                     Status.MITIGATED: "mitigated_at", Status.RESOLVED: "resolved_at",
                     Status.CLOSED: "closed_at"}.get(to)
            if stamp:
                changes[stamp] = now
            # Moving an incident on means someone is on it: that acknowledges it too (not so when the console
            # moves it by itself, e.g. every alert resolved: by=None).
            if not self.acknowledged_at and by is not None:
                changes.update(acknowledged_at=now, acknowledged_by=by)
            if to in OPEN_STATUSES and self.status == Status.RESOLVED:
                changes["resolved_at"] = None  # reopened
            old = self.status
            Incident.objects.filter(pk=self.pk).update(**changes)
            for k, v in changes.items():
                setattr(self, k, v)
            reopened = old == Status.RESOLVED and to in OPEN_STATUSES
            message = ("Reopened: " if reopened else "") + f"{Status(old).label} → {Status(to).label}" \
                + (f": {note}" if note else "")
            self._event(EventKind.STATUS, by, message, data={"from": old, "to": to, "note": note}, source=source)
            if to in (Status.RESOLVED, Status.CLOSED):
                self._stop_escalation("resolved", by)
            elif by is not None:  # a person moved it on: they are on it (an alert's own move is not an answer)
                self._stop_escalation("acknowledged", by)
            if to == Status.CLOSED:
                from .runs import CommandRun  # it points at Incident

                CommandRun.cancel_awaiting_approval(self, by=by, why="the incident was closed")
            self._bump()

    def change_severity(self, severity: SeverityLevel, *, by, revision: int | None = None) -> None:
        with transaction.atomic():
            self._locked()
            self.check_revision(revision)
            if severity.pk == self.severity_id:
                raise IncidentError(f"The severity is already {severity.name}.")
            old = self.severity.name
            old_level = self.severity
            Incident.objects.filter(pk=self.pk).update(
                severity=severity, ever_needed_second_approval=self.ever_needed_second_approval
                or severity.needs_second_approval)
            self.severity = severity
            self.ever_needed_second_approval = self.ever_needed_second_approval or severity.needs_second_approval
            self._event(EventKind.SEVERITY, by, f"Severity {old} → {severity.name}",
                        data={"from": old, "to": severity.name})
            from incidents.paging import severity_changed
            severity_changed(self, old_level, by=by)
            self._bump()

    def _stop_escalation(self, why: str, by, *, name: str = "") -> None:
        """Stop paging in the transaction that changes the incident (paging.py says what stopping means)."""
        from incidents.paging import stop_escalation
        stop_escalation(self, why, by=by, name=name or _name(by))

    def assign_role(self, role: str, user, *, by, revision: int | None = None) -> None:
        if role not in ROLES:
            raise IncidentError(f"Unknown role {role!r}.")
        with transaction.atomic():
            self._locked()
            self.check_revision(revision)
            if getattr(self, f"{role}_id") == (user.pk if user else None):
                raise IncidentError(f"{_name(user) or 'Nobody'} already holds that role.")
            Incident.objects.filter(pk=self.pk).update(**{role: user})
            setattr(self, role, user)
            who = _name(user) or "nobody"
            self._event(EventKind.ROLE, by, f"{ROLES[role]}: {who}",
                        data={"role": role, "user": user.pk if user else None})
            self._bump()

    def add_note(self, text: str, *, by, important: bool = False) -> TimelineEvent:
        """A note; an important one goes into the postmortem's key timeline."""
        text = (text or "").strip()
        if not text:
            raise IncidentError("A note needs some text.")
        if len(text) > 10_000:
            raise IncidentError("Keep a note under 10,000 characters.")
        with transaction.atomic():
            self._locked()
            self.acknowledged_by_work(by, "note")
            event = self._event(EventKind.NOTE, by, text, data={"important": True} if important else None)
            self._bump()
        return event

    def attach_runbook(self, runbook: Runbook, *, by, revision: int | None = None) -> IncidentRunbook:
        with transaction.atomic():
            self._locked()
            self.check_revision(revision)
            if self.status == Status.CLOSED:
                raise IncidentError("The incident is closed; its runbooks can no longer change.")
            if self.runbooks.filter(runbook=runbook).exists():
                raise IncidentError(f"“{runbook.title}” is already attached.")
            attached = self._attach(runbook, by)
            self._bump()
        return attached

    def _attach(self, runbook: Runbook, by, *, source: str = EventSource.WEB) -> IncidentRunbook:
        from .checklist import ChecklistItem, IncidentRunbook  # they point at Incident

        version = runbook.current_version()
        if version is None:  # a runbook created without a version yet: pin what it is now
            with transaction.atomic():
                version = runbook.record_version(note="pinned by an incident")
        attached = IncidentRunbook.objects.create(incident=self, runbook=runbook, version=version, attached_by=by)
        items = []
        for order, step in enumerate(version.snapshot.get("steps", [])):
            items.append(ChecklistItem(
                incident=self, incident_runbook=attached, order=order, phase=step.get("phase") or Phase.OTHER,
                heading=step.get("heading") or "", text=step.get("text") or "",
                commands=step.get("commands", []),
            ))
        ChecklistItem.objects.bulk_create(items)
        self._event(EventKind.RUNBOOK, by, f"Attached runbook “{runbook.title}” (v{version.number})",
                    data={"runbook": runbook.pk, "version": version.number, "items": len(items)}, source=source)
        return attached


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


class TimelineEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ARG002 - the timeline is append-only
        raise IncidentError("The timeline is append-only.")

    def delete(self):
        raise IncidentError("The timeline is append-only.")


class TimelineEvent(models.Model):
    """One thing that happened, appended in the same transaction as the change it records."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=20, choices=EventKind)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=10, choices=EventSource, default=EventSource.WEB)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    objects = TimelineEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        # Pages read the latest events first ("-at", "-pk"): a backward scan of this index stops after a page.
        indexes = [models.Index(fields=["incident", "at", "id"], name="timeline_incident_at_id")]

    def __str__(self) -> str:
        return self.message[:80]

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise IncidentError("The timeline is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise IncidentError("The timeline is append-only.")
