"""Thin Celery tasks: ids in, re-fetch, guard, act. How a command really runs lives in incidents/execution/."""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from incidents import notify
from incidents.models import CommandRun, ExecutionTarget
from incidents.notify import NotificationTask

log = logging.getLogger(__name__)

# Output reaches the database at most this often (the page polls every second); each piece moves the runs
# panel's version (CommandRun.append_output), not the incident's revision.
FLUSH_INTERVAL = 0.2
HEARTBEAT_INTERVAL = 5.0
CANCEL_CHECK_INTERVAL = 0.25


def enqueue(run_id: int) -> None:
    """Send a queued run to its target's queue; called after the transaction that queued it commits.

    A broker that cannot be reached must not break the page: the run is stored as failed, with why.
    """
    run = CommandRun.objects.select_related("incident", "target").filter(pk=run_id).first()
    if run is None or run.state != CommandRun.State.QUEUED:
        return
    try:
        run_command.apply_async(
            (run_id,), queue=run.queue,
            retry=True, retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception as exc:  # noqa: BLE001 - kombu, redis and socket errors all mean "not queued"
        log.warning("could not enqueue command run %s: %s", run_id, exc)
        run.fail_to_enqueue(str(exc) or exc.__class__.__name__)


class _Stream:
    """The callbacks execution.run calls while the command runs, writing straight to the run's row."""

    def __init__(self, run: CommandRun) -> None:
        self.run = run
        self.last_cancel_check = 0.0
        self.cancel = False

    def output(self, chunk: str) -> None:
        if not chunk:
            return
        self.run.append_output(chunk)

    def heartbeat(self) -> None:
        self.run.beat()

    def should_cancel(self) -> bool:
        now = time.monotonic()
        if not self.cancel and now - self.last_cancel_check >= CANCEL_CHECK_INTERVAL:
            self.last_cancel_check = now
            self.cancel = self.run.cancel_wanted()
        return self.cancel


@shared_task(name="incidents.tasks.run_command", acks_late=True, ignore_result=True)
def run_command(run_id: int) -> str:
    """Run one queued command, once: the claim makes a redelivered or duplicated task a no-op."""
    from incidents import execution  # the worker's side only: the web never runs commands

    run = CommandRun.objects.select_related("incident", "target").filter(pk=run_id).first()
    if run is None:
        return "gone"
    host = socket.gethostname()
    if not run.claim(host):
        return "not queued"
    target = run.target
    isolation = execution.resolve_isolation(settings.COMMAND_RUN_USER, allow_same_user=settings.COMMAND_ALLOW_SAME_USER,
                                            sandbox=settings.COMMAND_SANDBOX)
    ExecutionTarget.objects.filter(pk=target.pk).update(
        worker_report={**isolation.report(), "host": host, "at": timezone.now().isoformat(timespec="seconds")})
    own = {name: os.environ[name] for name in (target.env_passthrough or []) if name in os.environ}
    dsn = os.environ.get(target.sql_dsn_env) if target.sql_dsn_env else None
    missing = []
    for name in run.secret_parameters or []:
        if name not in target.passes_through:
            missing.append(f"{name} is not one of the variables target '{target.name}' passes through "
                           "(its env passthrough or secret parameters)")
        elif name not in os.environ:
            missing.append(f"{name} is not set in the environment of the worker on {host}")
        else:
            own[name] = os.environ[name]
    env = {**{k: str(v) for k, v in (target.environment or {}).items()}, **own}
    secrets = [value for value in [*own.values(), dsn] if value]
    if missing:
        run.finish(state=CommandRun.State.FAILED, exit_code=None, output="", truncated=False,
                   reason="; ".join(missing))
        return run.state
    stream = _Stream(run)
    try:
        result = execution.run(
            run.script, language=run.language, env=env, timeout=target.timeout_seconds,
            output_cap=target.output_cap_bytes, on_output=stream.output, on_heartbeat=stream.heartbeat,
            should_cancel=stream.should_cancel, flush_interval=FLUSH_INTERVAL, isolation=isolation,
            heartbeat_interval=HEARTBEAT_INTERVAL, dsn=dsn, allowed_programs=list(target.allowed_programs or []),
            target_name=target.name, secrets=secrets,
        )
    except execution.CommandRefused as exc:
        run.finish(state=CommandRun.State.FAILED, exit_code=None, output="", truncated=False,
                   reason=execution.redact(str(exc), secrets))
        return run.state
    except Exception as exc:
        log.exception("command run %s crashed the worker's runner", run_id)
        run.finish(state=CommandRun.State.FAILED, exit_code=None, output="", truncated=False,
                   reason=execution.redact(f"the worker on {host} could not run it: {exc}", secrets))
        return run.state
    # A program missing on this host comes back as a failed result naming the host, not as an exception.
    reason = "" if result.state == CommandRun.State.SUCCEEDED else (result.reason or "")
    run.finish(state=str(result.state), exit_code=result.exit_code, output=result.output,
               truncated=bool(result.truncated), reason=reason)
    return run.state


@shared_task(name="incidents.tasks.audit_lost_runs", ignore_result=True)
def audit_lost_runs() -> int:
    """Mark running runs whose worker stopped beating as lost (the beat schedule calls this)."""
    return CommandRun.mark_lost(older_than=timedelta(seconds=settings.COMMAND_HEARTBEAT_TIMEOUT_SECONDS))


# --- paging (incidents/paging.py holds the engine; these only call it) ------------------------------------

@shared_task(name="incidents.tasks.escalation_tick", ignore_result=True)
def escalation_tick() -> dict:
    """Fire due escalations and sweep the outbox (the beat schedule calls this every few seconds)."""
    from incidents import paging

    result = paging.tick()
    if result.escalations or result.swept:
        log.info("escalation tick: %d escalations, %d pages, %d swept in %.3f s", result.escalations,
                 result.pages, result.swept, result.seconds)
    return {"escalations": result.escalations, "pages": result.pages, "swept": result.swept}


@shared_task(name="incidents.tasks.deliver_pages", acks_late=True, ignore_result=True)
def deliver_pages(page_ids: list[int]) -> dict:
    """Send pending pages; a redelivered or duplicated task finds them claimed or sent and does nothing."""
    from incidents import paging

    return paging.deliver([int(pk) for pk in page_ids])


@shared_task(name="incidents.tasks.send_email", base=NotificationTask, bind=True)
def send_email(self, to: list[str], subject: str, body: str) -> None:
    """One email with the notification retry policy, for anyone (postmortem reminders, say); enqueue it with
    `transaction.on_commit(partial(send_email.delay, [address], subject, body))`."""
    notify.send_email(to, subject, body)


# Action-item reminders live with their rules; imported here so workers register them.
from incidents.reminders import remind_action_items, send_action_reminder  # noqa: E402, F401
