"""Command runs: where commands run (targets), and each dispatch of a runbook command with its output."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from runbooks import languages
from runbooks.models import RunbookVersion

from ..choices import EventKind, EventSource, Status
from .checklist import ChecklistItem
from .incident import Incident, IncidentError, _name

User = settings.AUTH_USER_MODEL


class ExecutionTarget(models.Model):
    """Where commands run: a queue, the programs allowed there, and the environment given to them.

    Secrets are never stored here: `env_passthrough` names variables the worker takes from its own
    environment (set on the bastion host), `secret_parameters` names runbook parameters that are secrets
    (besides those named like one: *_TOKEN, *_PASSWORD, *_DSN, *_SECRET, *_KEY), which the worker also takes
    from its environment and nobody types, and `sql_dsn_env` names the variable holding the DSN.
    `worker_report` is what the last worker to run a command here said about how it runs them.
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
    secret_parameters = models.JSONField(
        default=list, blank=True, help_text="Runbook parameters that are secrets, taken from the worker's "
        "environment variable of the same name (upper case) and never typed into a form; names like *_TOKEN, "
        "*_PASSWORD, *_DSN, *_SECRET and *_KEY are secrets without being listed")
    worker_report = models.JSONField(default=dict, blank=True, editable=False,
                                     help_text="How the worker that last ran a command here runs them")
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
        for name in ("env_passthrough", "secret_parameters"):
            value = getattr(self, name)
            if not isinstance(value, list) or not all(isinstance(n, str) and _ENV_NAME.fullmatch(n) for n in value):
                raise ValidationError({name: "A list of variable names, e.g. [\"API_TOKEN\"]."})

    def refusal(self, script: str, language: str) -> str:
        """Why this target's allow-list refuses `script`, with what to do about it; empty when it allows it.

        Asked before anything is queued (the worker asks again before it runs anything)."""
        from incidents.execution.policy import CommandRefused, check_allowed

        try:
            check_allowed(script, self.allowed_programs or [], language, target_name=self.name)
        except CommandRefused as exc:
            return (f"Not run: {exc} An admin can add it to the allowed programs of “{self.name}” "
                    "(Admin → Execution targets), or choose another target.")
        return ""

    @property
    def passes_through(self) -> set[str]:
        """The worker's environment variables a command here may be given."""
        from runbooks.commandtext import environment_name

        return {*(self.env_passthrough or []), *(environment_name(n) for n in self.secret_parameters or [])}


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def secret_parameter_names(names) -> list[str]:
    """Which of these parameter names are secrets: named like one, or listed by an execution target."""
    from runbooks.commandtext import environment_name, is_secret_name

    listed = {environment_name(n) for names_ in ExecutionTarget.objects.values_list("secret_parameters", flat=True)
              if isinstance(names_, list) for n in names_ if isinstance(n, str)}
    return [n for n in names if is_secret_name(n) or environment_name(n) in listed]


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
    secrets: list[str] = field(default_factory=list)  # environment variables the worker fills in


class CommandRunQuerySet(models.QuerySet):
    def active(self) -> CommandRunQuerySet:
        return self.filter(state__in=CommandRun.ACTIVE)

    def panel(self) -> RunsPanel:
        """The latest runs of an incident (call on incident.command_runs), and how fast to poll for changes."""
        # The panel shows neither the step a run came from nor the command as written: not read.
        runs = list(self.select_related("requested_by", "approved_by", "target").defer("template", "parameters")
                    .order_by("-created_at", "-pk")[:PANEL_RUNS])
        states = {run.state for run in runs}
        if states & {CommandRun.State.QUEUED, CommandRun.State.RUNNING}:
            every = 1
        elif CommandRun.State.AWAITING_APPROVAL in states:
            every = 5  # only a person can move it on; no need to ask every second
        else:
            every = None
        return RunsPanel(runs=runs, polling_every=every)


class AlreadyStarted(IncidentError):
    """This preview already started a run (a double click, a replayed form): `run` is the one it started."""

    def __init__(self, run: CommandRun) -> None:
        super().__init__(f"Run #{run.pk} was already started from this preview; it is not started twice.")
        self.run = run


def _typed(item: ChecklistItem, index: int) -> set[str]:
    """The parameters of a command that a person types (not its secrets)."""
    from runbooks.commandtext import find_parameters

    command = item.commands[index]
    names = list(command.get("parameters") or find_parameters(command["text"]))
    secret = set(secret_parameter_names(names))
    return {n for n in names if n not in secret}


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
    parameters = models.JSONField(default=dict, blank=True, help_text="The values typed in (never secrets)")
    secret_parameters = models.JSONField(
        default=list, blank=True, help_text="Environment variables the worker fills in (their values are not kept)")
    preview_token = models.CharField(max_length=200, null=True, blank=True, unique=True, editable=False,
                                     help_text="The preview this run was started from: one preview, one run")
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
        """Fill a pinned command's placeholders; raises ParameterError for a value that is not safe.

        Secret parameters (see `secret_parameter_names`) take no value: the script refers to the worker's
        environment variable instead (runbooks.commandtext.render_script).
        """
        from runbooks.commandtext import environment_name, find_parameters, render_script
        from runbooks.destructive import is_destructive

        command = item.commands[index]
        language = languages.normalise(command.get("language"))
        names = list(command.get("parameters") or find_parameters(command["text"]))
        secrets = secret_parameter_names(names)
        script = render_script(command["text"], values, language, secrets=secrets)
        destructive = bool(command.get("destructive")) or is_destructive(script, language)
        return RunPlan(command=command, script=script, destructive=destructive,
                       needs_approval=False,  # filled in by request(), which knows the incident's severity
                       secrets=[environment_name(n) for n in secrets])

    @classmethod
    def needs_second_person(cls, incident: Incident, plan: RunPlan) -> bool:
        """The two-person rule: a runbook that asks for it, or a destructive command on an incident that is, or
        ever was, at a severity that needs a second person (lowering the severity does not lift it)."""
        if plan.command.get("needs_approval"):
            return True
        return plan.destructive and (incident.severity.needs_second_approval
                                     or incident.ever_needed_second_approval)

    @classmethod
    def request(cls, *, item: ChecklistItem, index: int, values: dict[str, str], by, target: ExecutionTarget,
                understood_destructive: bool = False, preview_token: str | None = None) -> CommandRun:
        """Store a run of a checklist item's command, queued or awaiting approval, and enqueue it after commit.

        `preview_token` names the preview a person dispatched from: a second request with it (a double click,
        a replayed form) raises AlreadyStarted naming the run the first one started.
        """
        from runbooks.commandtext import ParameterError

        if not 0 <= index < len(item.commands):
            raise IncidentError("That step has no such command.")
        command = item.commands[index]
        if not languages.is_runnable(command.get("language")):
            raise IncidentError(languages.not_runnable_reason(command.get("language")))
        language = languages.normalise(command.get("language"))
        try:
            plan = cls.plan(item, index, values)
        except ParameterError as exc:
            raise IncidentError(str(exc)) from None
        if plan.destructive and not understood_destructive:
            raise IncidentError("This command is destructive: tick “I understand this is destructive” to go on.")
        if refused := target.refusal(plan.script, language):
            raise IncidentError(refused)
        with transaction.atomic():
            incident = item.incident._locked()
            if incident.status == Status.CLOSED:
                raise IncidentError("This incident is closed; reopen it before running commands.")
            if preview_token and (earlier := cls.objects.filter(preview_token=preview_token).first()):
                raise AlreadyStarted(earlier)
            plan.needs_approval = cls.needs_second_person(incident, plan)
            now = timezone.now()
            fields = dict(  # noqa: C408 - reads as the create() call it feeds
                incident=incident, checklist_item=item, command_index=index,
                runbook_version_id=item.incident_runbook.version_id, language=language, template=command["text"],
                script=plan.script, parameters={k: v for k, v in values.items() if k in _typed(item, index)},
                secret_parameters=plan.secrets, destructive=plan.destructive,
                needs_approval=plan.needs_approval, target=target, queue=target.queue or "commands",
                state=cls.State.AWAITING_APPROVAL if plan.needs_approval else cls.State.QUEUED,
                queued_at=None if plan.needs_approval else now, requested_by=by, created_at=now,
                preview_token=preview_token or None,
            )
            try:
                with transaction.atomic():  # the unique token: of two requests at once, one stores the run
                    run = cls.objects.create(**fields)
            except IntegrityError:
                earlier = cls.objects.filter(preview_token=preview_token).first()
                if earlier is None:
                    raise
                raise AlreadyStarted(earlier) from None
            waits = " — awaiting a second person's approval" if plan.needs_approval else ""
            message = f"Requested run #{run.pk} on {target.name}{waits}: {_short(run.script)}"
            incident.acknowledged_by_work(by, "command run")
            incident._event(EventKind.COMMAND, by, message, data=run._event_data())
            incident._bump(runs=True)
            if not plan.needs_approval:
                run._enqueue_on_commit()
        return run

    def approve(self, *, by) -> None:
        if by is not None and by.pk == self.requested_by_id:
            raise IncidentError("You cannot approve your own command: another person with approval rights must.")
        with transaction.atomic():
            incident = self.incident._locked()
            if incident.status in (Status.RESOLVED, Status.CLOSED):
                raise IncidentError(f"Incident #{incident.pk} is {incident.get_status_display().lower()}: "
                                    "its commands can no longer be approved (reopen it to run them).")
            now = timezone.now()
            if not CommandRun.objects.filter(pk=self.pk, state=self.State.AWAITING_APPROVAL).update(
                    state=self.State.QUEUED, approved_by=by, queued_at=now):
                raise IncidentError(self._moved_on())
            self.state, self.approved_by, self.queued_at = self.State.QUEUED, by, now
            incident._event(EventKind.COMMAND, by, f"Approved run #{self.pk}: {_short(self.script)}",
                            data=self._event_data())
            incident._bump(runs=True)
            self._enqueue_on_commit()

    @classmethod
    def cancel_awaiting_approval(cls, incident: Incident, *, by, why: str) -> list[int]:
        """Cancel the incident's runs still waiting for approval (call inside the incident's transaction)."""
        now = timezone.now()
        waiting = list(cls.objects.filter(incident=incident, state=cls.State.AWAITING_APPROVAL)
                       .order_by("pk").values_list("pk", flat=True))
        if not waiting:
            return []
        cls.objects.filter(pk__in=waiting, state=cls.State.AWAITING_APPROVAL).update(
            state=cls.State.CANCELLED, finished_at=now, reason=f"Cancelled before approval: {why}",
            cancel_requested=True)
        listed = ", ".join(f"#{pk}" for pk in waiting)
        incident._event(EventKind.COMMAND, by, f"Cancelled run{'s' if len(waiting) > 1 else ''} {listed} "
                        f"awaiting approval: {why}", data={"runs": waiting, "state": cls.State.CANCELLED})
        return waiting

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
            incident._bump(runs=True)

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
            incident._bump(runs=True)

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
                             data=self._event_data(host=host), source=EventSource.WORKER, runs=True)
        return True

    def append_output(self, chunk: str) -> None:
        """Add printed output; moves the runs panel's version only (no timeline event: output is not a change
        of state), so viewers' polls bring the panel and leave the rest of the incident page as it is."""
        from django.db.models import Value
        from django.db.models.functions import Concat

        chunk = chunk.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
        with transaction.atomic():
            CommandRun.objects.filter(pk=self.pk).update(
                output=Concat(F("output"), Value(chunk), output_field=models.TextField()))
            Incident.objects.filter(pk=self.incident_id).update(runs_revision=F("runs_revision") + 1)

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
            self.incident.record(EventKind.COMMAND, None, self._outcome(), source=EventSource.WORKER, runs=True,
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
                             data=self._event_data(), source=EventSource.SYSTEM, runs=True)
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
                                    data=run._event_data(), source=EventSource.SYSTEM, runs=True)
            lost += 1
        return lost


def _short(text: str, limit: int = 200) -> str:
    from incidents.execution.redaction import redact

    text = " ".join(redact(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
