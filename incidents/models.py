"""What happened: incidents, their pinned runbooks, checklists, the timeline and command runs.

Every change to an incident, or to anything under it, happens in a model method that locks the
incident row, makes the change, appends a timeline event and bumps `Incident.revision`, all in one
transaction. Live pages compare revisions to know whether anything changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from runbooks.models import Phase, Runbook, RunbookVersion, Service, SeverityLevel

User = settings.AUTH_USER_MODEL


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


class IncidentError(Exception):
    """A change that cannot be made; the message is meant for the person who asked."""


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
    ALERT = "alert", "Alert"


class EventSource(models.TextChoices):
    WEB = "web", "Web"
    WORKER = "worker", "Worker"
    SYSTEM = "system", "System"
    ALERT = "alert", "Alert"


class IncidentQuerySet(models.QuerySet):
    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def recently_resolved(self, days: int = 7) -> IncidentQuerySet:
        since = timezone.now() - timedelta(days=days)
        return self.filter(status__in=(Status.RESOLVED, Status.CLOSED), resolved_at__gte=since)

    def by_urgency(self) -> IncidentQuerySet:
        return self.order_by("severity__rank", "declared_at")


class Incident(models.Model):
    """An incident, from declaration to close."""

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
    # Bumped in the same transaction as any change to the incident or anything under it.
    revision = models.PositiveIntegerField(default=1)
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
        if self.severity.response_minutes is None:
            return None
        return self.declared_at + timedelta(minutes=self.severity.response_minutes)

    @property
    def response_breached(self) -> bool:
        """No acknowledgement within the severity's response time."""
        due = self.response_due_at
        if due is None:
            return False
        return (self.acknowledged_at or timezone.now()) > due

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return self.acknowledged_at - self.declared_at if self.acknowledged_at else None

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self.mitigated_at - self.declared_at if self.mitigated_at else None

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.resolved_at - self.declared_at if self.resolved_at else None

    @property
    def response_time(self) -> timedelta | None:
        minutes = self.severity.response_minutes
        return timedelta(minutes=minutes) if minutes is not None else None

    # --- changes: each locks the row, changes, records an event and bumps the revision -------------

    @classmethod
    def declare(
        cls, *, title: str, severity: SeverityLevel, by, service: Service | None = None, summary: str = "",
        commander=None, impact_started_at=None, runbooks: list[Runbook] = (), source: str = EventSource.WEB,
    ) -> Incident:
        title = (title or "").strip()
        if not title:
            raise IncidentError("Give the incident a title.")
        if len(title) > 200:
            raise IncidentError("Keep the title under 200 characters.")
        with transaction.atomic():
            incident = cls.objects.create(
                title=title, summary=summary, severity=severity, service=service, declared_by=by,
                commander=commander, impact_started_at=impact_started_at,
            )
            incident._event(EventKind.DECLARED, by, f"Declared {severity.name}: {title}", source=source,
                            data={"severity": severity.name, "service": service.name if service else None})
            if commander is not None:
                incident._event(EventKind.ROLE, by, f"{_name(commander)} is commander",
                                data={"role": "commander", "user": commander.pk})
            for runbook in runbooks:
                incident._attach(runbook, by)
        return incident

    def _locked(self) -> Incident:
        """Re-read this incident under a row lock; callers must be inside atomic()."""
        locked = Incident.objects.select_for_update().select_related("severity").get(pk=self.pk)
        self.__dict__.update({f.attname: getattr(locked, f.attname) for f in self._meta.concrete_fields})
        return self

    def _bump(self) -> None:
        Incident.objects.filter(pk=self.pk).update(revision=F("revision") + 1, updated_at=timezone.now())
        self.revision += 1

    def _event(self, kind: str, actor, message: str, *, data: dict | None = None,
               source: str = EventSource.WEB) -> TimelineEvent:
        return TimelineEvent.objects.create(
            incident=self, kind=kind, actor=actor if getattr(actor, "pk", None) else None,
            source=source, message=message, data=data or {},
        )

    def record(self, kind: str, actor, message: str, *, data: dict | None = None,
               source: str = EventSource.WEB) -> TimelineEvent:
        """Append an event and bump the revision, for changes made under the incident (e.g. command runs)."""
        with transaction.atomic():
            event = self._event(kind, actor, message, data=data, source=source)
            self._bump()
        return event

    def check_revision(self, revision: int | None) -> None:
        """Refuse a form built from an older state of the incident (call with the row locked)."""
        if revision is not None and revision != self.revision:
            raise IncidentError("Someone else changed this incident while you were looking; review and try again.")

    def acknowledge(self, *, by, revision: int | None = None) -> None:
        with transaction.atomic():
            self._locked()
            if self.acknowledged_at is not None:
                raise IncidentError(f"Already acknowledged by {_name(self.acknowledged_by) or 'someone'}.")
            now = timezone.now()
            Incident.objects.filter(pk=self.pk).update(acknowledged_at=now, acknowledged_by=by)
            self.acknowledged_at, self.acknowledged_by = now, by
            self._event(EventKind.ACKNOWLEDGED, by, f"Acknowledged by {_name(by)}")
            self._bump()

    def transition(self, to: str, *, by, revision: int | None = None, note: str = "") -> None:
        with transaction.atomic():
            self._locked()
            self.check_revision(revision)
            if to not in TRANSITIONS.get(self.status, ()):
                label = Status(to).label if to in Status.values else repr(to)
                raise IncidentError(f"An incident that is {self.get_status_display().lower()} cannot become {label}.")
            now = timezone.now()
            changes: dict = {"status": to}
            stamp = {Status.INVESTIGATING: "investigating_at", Status.IDENTIFIED: "identified_at",
                     Status.MITIGATED: "mitigated_at", Status.RESOLVED: "resolved_at",
                     Status.CLOSED: "closed_at"}.get(to)
            if stamp:
                changes[stamp] = now
            # Moving an incident on means someone is on it: that acknowledges it too.
            if not self.acknowledged_at:
                changes.update(acknowledged_at=now, acknowledged_by=by)
            if to in OPEN_STATUSES and self.status == Status.RESOLVED:
                changes["resolved_at"] = None  # reopened
            old = self.status
            Incident.objects.filter(pk=self.pk).update(**changes)
            for k, v in changes.items():
                setattr(self, k, v)
            message = f"{Status(old).label} → {Status(to).label}" + (f": {note}" if note else "")
            self._event(EventKind.STATUS, by, message, data={"from": old, "to": to, "note": note})
            self._bump()

    def change_severity(self, severity: SeverityLevel, *, by, revision: int | None = None) -> None:
        with transaction.atomic():
            self._locked()
            self.check_revision(revision)
            if severity.pk == self.severity_id:
                raise IncidentError(f"The severity is already {severity.name}.")
            old = self.severity.name
            Incident.objects.filter(pk=self.pk).update(severity=severity)
            self.severity = severity
            self._event(EventKind.SEVERITY, by, f"Severity {old} → {severity.name}",
                        data={"from": old, "to": severity.name})
            self._bump()

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

    def add_note(self, text: str, *, by) -> TimelineEvent:
        text = (text or "").strip()
        if not text:
            raise IncidentError("A note needs some text.")
        if len(text) > 10_000:
            raise IncidentError("Keep a note under 10,000 characters.")
        with transaction.atomic():
            self._locked()
            event = self._event(EventKind.NOTE, by, text)
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

    def _attach(self, runbook: Runbook, by) -> IncidentRunbook:
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
                    data={"runbook": runbook.pk, "version": version.number, "items": len(items)})
        return attached


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


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


class ExecutionTarget(models.Model):
    """Where commands run: a queue, the programs allowed there, and the environment given to them.

    Secrets are never stored here: `env_passthrough` names variables the worker takes from its own
    environment (set on the bastion host), and `sql_dsn_env` names the variable holding the DSN.
    """

    name = models.CharField(max_length=100, unique=True)
    queue = models.CharField(max_length=100, default="commands")
    allowed_programs = models.JSONField(default=list, blank=True, help_text='e.g. ["kubectl", "psql", "curl"]')
    environment = models.JSONField(default=dict, blank=True, help_text="Non-secret variables given to commands")
    env_passthrough = models.JSONField(
        default=list, blank=True, help_text="Names of variables taken from the worker's own environment"
    )
    sql_dsn_env = models.CharField(
        max_length=100, blank=True, help_text="Name of the worker environment variable holding the SQL DSN"
    )
    timeout_seconds = models.PositiveIntegerField(default=300)
    output_cap_bytes = models.PositiveIntegerField(default=256 * 1024)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_target")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.allowed_programs, list) or not all(isinstance(p, str) for p in self.allowed_programs):
            raise ValidationError({"allowed_programs": "A list of program names, e.g. [\"kubectl\", \"curl\"]."})


@dataclass
class RunsPanel:
    """What the incident page's command-runs panel shows, read in one query."""

    runs: list
    polling_every: int | None  # seconds; None when nothing can change without someone acting


@dataclass
class RunPlan:
    """A command with its values filled in: what would run, and which approvals it needs."""

    command: dict
    script: str
    destructive: bool
    needs_approval: bool


class CommandRunQuerySet(models.QuerySet):
    def active(self) -> CommandRunQuerySet:
        return self.filter(state__in=CommandRun.ACTIVE)

    def panel(self) -> RunsPanel:
        """The latest runs of an incident (call on incident.command_runs), and how fast to poll for changes."""
        runs = list(self.select_related("requested_by", "approved_by", "target", "checklist_item")
                    .order_by("-created_at", "-pk")[:PANEL_RUNS])
        states = {run.state for run in runs}
        if states & {CommandRun.State.QUEUED, CommandRun.State.RUNNING}:
            every = 1
        elif CommandRun.State.AWAITING_APPROVAL in states:
            every = 5  # only a person can move it on; no need to ask every second
        else:
            every = None
        return RunsPanel(runs=runs, polling_every=every)


PANEL_RUNS = 30
PANEL_OUTPUT_TAIL = 16 * 1024
TRUNCATION_MARKER = "\n[… output truncated: the rest was not kept …]\n"


class CommandRun(models.Model):
    """One dispatch of a runbook command: what ran, where, by whom, and what it printed.

    Life: awaiting_approval → queued (or rejected/cancelled) → running → succeeded | failed | timed_out |
    cancelled | lost. The web side creates, approves and cancels; the worker claims, streams and finishes.
    Each transition is a conditional UPDATE on the old state, followed by a timeline event.
    """

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"
        CANCELLED = "cancelled", "Cancelled"
        LOST = "lost", "Lost"
        REJECTED = "rejected", "Rejected"

    FINISHED = (State.SUCCEEDED, State.FAILED, State.TIMED_OUT, State.CANCELLED, State.LOST, State.REJECTED)
    ACTIVE = (State.AWAITING_APPROVAL, State.QUEUED, State.RUNNING)

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="command_runs")
    checklist_item = models.ForeignKey(
        ChecklistItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="command_runs"
    )
    command_index = models.PositiveSmallIntegerField(default=0, help_text="Which of the item's commands")
    runbook_version = models.ForeignKey(RunbookVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    language = models.CharField(max_length=30, default="bash")
    template = models.TextField(help_text="The command as the runbook wrote it")
    script = models.TextField(help_text="The exact script that runs")
    parameters = models.JSONField(default=dict, blank=True)
    destructive = models.BooleanField(default=False)
    needs_approval = models.BooleanField(default=False, help_text="A second person had to approve it")
    target = models.ForeignKey(ExecutionTarget, on_delete=models.PROTECT, related_name="runs")
    queue = models.CharField(max_length=100)
    state = models.CharField(max_length=20, choices=State, default=State.QUEUED)
    reason = models.TextField(blank=True, help_text="Why it failed, was refused or was cancelled")
    exit_code = models.IntegerField(null=True, blank=True)
    output = models.TextField(blank=True)
    output_truncated = models.BooleanField(default=False)
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker_host = models.CharField(max_length=200, blank=True)

    objects = CommandRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "heartbeat_at"], name="commandrun_state_heartbeat"),
            models.Index(fields=["incident", "-created_at"], name="commandrun_incident_created"),
        ]

    def __str__(self) -> str:
        return f"run #{self.pk}: {self.script[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:run_detail", args=[self.incident_id, self.pk])

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def can_cancel(self) -> bool:
        return self.is_active and not self.cancel_requested

    @property
    def output_tail(self) -> str:
        """The end of the output, for the page; the whole of it is downloadable."""
        if len(self.output) <= PANEL_OUTPUT_TAIL:
            return self.output
        return self.output[-PANEL_OUTPUT_TAIL:].split("\n", 1)[-1]

    @property
    def output_is_clipped(self) -> bool:
        return len(self.output) > PANEL_OUTPUT_TAIL

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    # --- the web side: request, approve, reject, cancel -------------------------------------------

    @staticmethod
    def plan(item: ChecklistItem, index: int, values: dict[str, str]) -> RunPlan:
        """Fill a pinned command's placeholders; raises ParameterError for a value that is not safe."""
        from runbooks.commandtext import is_destructive, render_script

        command = item.commands[index]
        language = command.get("language") or "bash"
        script = render_script(command["text"], values, language)
        destructive = bool(command.get("destructive")) or is_destructive(script, language)
        return RunPlan(command=command, script=script, destructive=destructive,
                       needs_approval=False)  # filled in by request(), which knows the incident's severity

    @classmethod
    def needs_second_person(cls, incident: Incident, plan: RunPlan) -> bool:
        if plan.command.get("needs_approval"):
            return True
        return plan.destructive and incident.severity.needs_second_approval

    @classmethod
    def request(cls, *, item: ChecklistItem, index: int, values: dict[str, str], by, target: ExecutionTarget,
                understood_destructive: bool = False) -> CommandRun:
        """Store a run of a checklist item's command, queued or awaiting approval, and enqueue it after commit."""
        from runbooks.commandtext import ParameterError

        if not 0 <= index < len(item.commands):
            raise IncidentError("That step has no such command.")
        command = item.commands[index]
        language = command.get("language") or "bash"
        if language not in RUNNABLE_LANGUAGES:
            raise IncidentError(f"{language} blocks are not commands the console can run.")
        try:
            plan = cls.plan(item, index, values)
        except ParameterError as exc:
            raise IncidentError(str(exc)) from None
        if plan.destructive and not understood_destructive:
            raise IncidentError("This command is destructive: tick “I understand this is destructive” to go on.")
        with transaction.atomic():
            incident = item.incident._locked()
            if incident.status == Status.CLOSED:
                raise IncidentError("This incident is closed; reopen it before running commands.")
            plan.needs_approval = cls.needs_second_person(incident, plan)
            now = timezone.now()
            run = cls.objects.create(
                incident=incident, checklist_item=item, command_index=index,
                runbook_version_id=item.incident_runbook.version_id, language=language, template=command["text"],
                script=plan.script, parameters=dict(values), destructive=plan.destructive,
                needs_approval=plan.needs_approval, target=target, queue=target.queue or "commands",
                state=cls.State.AWAITING_APPROVAL if plan.needs_approval else cls.State.QUEUED,
                queued_at=None if plan.needs_approval else now, requested_by=by, created_at=now,
            )
            waits = " — awaiting a second person's approval" if plan.needs_approval else ""
            message = f"Requested run #{run.pk} on {target.name}{waits}: {_short(run.script)}"
            incident._event(EventKind.COMMAND, by, message, data=run._event_data())
            incident._bump()
            if not plan.needs_approval:
                run._enqueue_on_commit()
        return run

    def approve(self, *, by) -> None:
        if by is not None and by.pk == self.requested_by_id:
            raise IncidentError("You cannot approve your own command: another person with approval rights must.")
        with transaction.atomic():
            incident = self.incident._locked()
            now = timezone.now()
            if not CommandRun.objects.filter(pk=self.pk, state=self.State.AWAITING_APPROVAL).update(
                    state=self.State.QUEUED, approved_by=by, queued_at=now):
                raise IncidentError(self._moved_on())
            self.state, self.approved_by, self.queued_at = self.State.QUEUED, by, now
            incident._event(EventKind.COMMAND, by, f"Approved run #{self.pk}: {_short(self.script)}",
                            data=self._event_data())
            incident._bump()
            self._enqueue_on_commit()

    def reject(self, *, by, reason: str = "") -> None:
        reason = (reason or "").strip()[:500]
        with transaction.atomic():
            incident = self.incident._locked()
            now = timezone.now()
            text = f"Rejected by {_name(by)}" + (f": {reason}" if reason else "")
            if not CommandRun.objects.filter(pk=self.pk, state=self.State.AWAITING_APPROVAL).update(
                    state=self.State.REJECTED, approved_by=None, finished_at=now, reason=text):
                raise IncidentError(self._moved_on())
            self.state, self.finished_at, self.reason = self.State.REJECTED, now, text
            incident._event(EventKind.COMMAND, by, f"Rejected run #{self.pk}" + (f": {reason}" if reason else ""),
                            data=self._event_data())
            incident._bump()

    def cancel(self, *, by) -> None:
        """Cancel a run that has not started; ask the worker to stop one that has."""
        with transaction.atomic():
            incident = self.incident._locked()
            now = timezone.now()
            text = f"Cancelled by {_name(by)} before it started"
            if CommandRun.objects.filter(pk=self.pk, state__in=(self.State.AWAITING_APPROVAL, self.State.QUEUED)
                                         ).update(state=self.State.CANCELLED, finished_at=now, reason=text,
                                                  cancel_requested=True):
                self.state, self.finished_at, self.reason = self.State.CANCELLED, now, text
                message = f"Cancelled run #{self.pk} before it started"
            elif CommandRun.objects.filter(pk=self.pk, state=self.State.RUNNING, cancel_requested=False).update(
                    cancel_requested=True):
                self.cancel_requested = True
                message = f"Asked the worker to stop run #{self.pk}"
            else:
                raise IncidentError(self._moved_on())
            incident._event(EventKind.COMMAND, by, message, data=self._event_data())
            incident._bump()

    def _moved_on(self) -> str:
        current = CommandRun.objects.get(pk=self.pk)
        if current.state == self.State.RUNNING and current.cancel_requested:
            return f"Run #{self.pk} is already being stopped."
        return f"Run #{self.pk} is already {current.get_state_display().lower()}."

    def _enqueue_on_commit(self) -> None:
        from functools import partial

        from incidents.tasks import enqueue

        transaction.on_commit(partial(enqueue, self.pk))

    def _event_data(self, **extra) -> dict:
        return {"run": self.pk, "state": self.state, "target": self.target.name if self.target_id else None,
                "destructive": self.destructive, **extra}

    # --- the worker side: claim, stream, beat, finish ---------------------------------------------

    def claim(self, host: str) -> bool:
        """Take a queued run; False when it is not queued any more (cancelled, or a redelivered task)."""
        now = timezone.now()
        if CommandRun.objects.filter(pk=self.pk, state=self.State.QUEUED).update(
                state=self.State.RUNNING, started_at=now, worker_host=host, heartbeat_at=now) != 1:
            return False
        self.state, self.started_at, self.worker_host, self.heartbeat_at = self.State.RUNNING, now, host, now
        self.incident.record(EventKind.COMMAND, None, f"Run #{self.pk} started on {host}",
                             data=self._event_data(host=host), source=EventSource.WORKER)
        return True

    def append_output(self, chunk: str) -> None:
        from django.db.models import Value
        from django.db.models.functions import Concat

        chunk = chunk.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
        CommandRun.objects.filter(pk=self.pk).update(
            output=Concat(F("output"), Value(chunk), output_field=models.TextField()))

    def beat(self) -> None:
        CommandRun.objects.filter(pk=self.pk, state=self.State.RUNNING).update(heartbeat_at=timezone.now())

    def cancel_wanted(self) -> bool:
        return CommandRun.objects.filter(pk=self.pk, cancel_requested=True).exists()

    def finish(self, *, state: str, exit_code: int | None, output: str, truncated: bool, reason: str = "") -> bool:
        """Store the outcome of a running run; False when it was already finished (e.g. marked lost)."""
        now = timezone.now()
        output = output.replace("\x00", "\ufffd")
        if truncated and not output.endswith(TRUNCATION_MARKER) and "truncated" not in output[-200:]:
            output += TRUNCATION_MARKER
        with transaction.atomic():
            if CommandRun.objects.filter(pk=self.pk, state=self.State.RUNNING).update(
                    state=state, exit_code=exit_code, output=output, output_truncated=truncated, reason=reason,
                    finished_at=now, heartbeat_at=now) != 1:
                return False
            self.state, self.exit_code, self.output, self.output_truncated = state, exit_code, output, truncated
            self.reason, self.finished_at = reason, now
            self.incident.record(EventKind.COMMAND, None, self._outcome(), source=EventSource.WORKER,
                                 data=self._event_data(exit_code=exit_code, truncated=truncated))
        return True

    def _outcome(self) -> str:
        took = f" in {self.duration.total_seconds():.1f} s" if self.duration else ""
        label = {
            self.State.SUCCEEDED: "succeeded", self.State.FAILED: "failed", self.State.TIMED_OUT: "timed out",
            self.State.CANCELLED: "was cancelled", self.State.LOST: "was lost",
        }.get(self.state, self.state)
        code = f" (exit {self.exit_code})" if self.exit_code is not None else ""
        why = f": {self.reason}" if self.reason else ""
        return f"Run #{self.pk} {label}{code}{took}{why}"

    def fail_to_enqueue(self, error: str) -> bool:
        now = timezone.now()
        reason = f"could not reach the queue: {error}"
        if CommandRun.objects.filter(pk=self.pk, state=self.State.QUEUED).update(
                state=self.State.FAILED, reason=reason, finished_at=now) != 1:
            return False
        self.state, self.reason, self.finished_at = self.State.FAILED, reason, now
        self.incident.record(EventKind.COMMAND, None, f"Run #{self.pk} failed: {reason}",
                             data=self._event_data(), source=EventSource.SYSTEM)
        return True

    @classmethod
    def mark_lost(cls, *, older_than: timedelta) -> int:
        """Runs whose worker stopped beating: their worker died, so nobody will ever finish them."""
        cutoff = timezone.now() - older_than
        lost = 0
        for run in cls.objects.filter(state=cls.State.RUNNING, heartbeat_at__lt=cutoff).select_related(
                "incident", "target"):
            now = timezone.now()
            reason = f"no heartbeat from {run.worker_host or 'the worker'} since {run.heartbeat_at:%H:%M:%S} UTC"
            with transaction.atomic():
                if cls.objects.filter(pk=run.pk, state=cls.State.RUNNING, heartbeat_at__lt=cutoff).update(
                        state=cls.State.LOST, reason=reason, finished_at=now) != 1:
                    continue
                run.state, run.reason, run.finished_at = cls.State.LOST, reason, now
                run.incident.record(EventKind.COMMAND, None, f"Run #{run.pk} was lost: {reason}",
                                    data=run._event_data(), source=EventSource.SYSTEM)
            lost += 1
        return lost


RUNNABLE_LANGUAGES = {"bash", "sh", "shell", "console", "sql"}


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
