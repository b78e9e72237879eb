"""Command runs through a REAL Celery worker over Redis, against the test database in PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time

import psutil
import pytest

from incidents import tasks
from incidents.models import CommandRun, EventKind, ExecutionTarget, Incident
from tests.conftest import need
from tests.factories import make_runbook, make_severities
from tests.incidents.conftest import WORKER_DB_PASSWORD, start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("roles")]


def wait_for(predicate, timeout: float = 15.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout} s waiting for {predicate.__doc__ or predicate}")


def dispatch(by, script: str, *, queue: str = "commands", programs=("echo", "sleep", "seq")) -> CommandRun:
    """Store a run of `script` from an incident's checklist; it is enqueued when the transaction commits."""
    severities = make_severities()
    target, _ = ExecutionTarget.objects.get_or_create(
        name=f"target-{queue}", defaults={"queue": queue, "allowed_programs": list(programs), "timeout_seconds": 60})
    runbook = make_runbook(f"Runbook {CommandRun.objects.count()} {queue}",
                           steps=[("investigation", "Run it", [script])])
    incident = Incident.declare(title="Worker test", severity=severities[2], by=by, runbooks=[runbook])
    return CommandRun.request(item=incident.checklist.get(), index=0, values={}, by=by, target=target)


def state_of(run: CommandRun) -> CommandRun:
    run.refresh_from_db()
    return run


def finished(run: CommandRun):
    def check():
        """the run to finish"""
        return state_of(run).is_finished
    return check


def test_a_dispatched_command_runs_on_the_worker_and_its_output_is_stored(celery_worker, responder):
    run = dispatch(responder, "echo hi")
    wait_for(finished(run))
    assert (run.state, run.exit_code, run.output) == ("succeeded", 0, "hi\n")
    assert run.worker_host and run.started_at and run.finished_at
    messages = list(run.incident.timeline.filter(kind=EventKind.COMMAND).values_list("message", "source"))
    assert [source for _, source in messages] == ["web", "worker", "worker"]


def test_output_streams_in_before_the_command_finishes(celery_worker, responder):
    run = dispatch(responder, "for i in 1 2 3; do echo step $i; sleep 1; done")

    def first_line_while_running():
        """step 1 while still running"""
        state_of(run)
        return run.state == "running" and "step 1" in run.output and run
    seen = wait_for(first_line_while_running, timeout=10)
    assert "step 3" not in seen.output
    wait_for(finished(run))
    assert run.state == "succeeded" and run.output == "step 1\nstep 2\nstep 3\n"


def test_cancel_kills_a_running_command(celery_worker, responder):
    run = dispatch(responder, "echo started; sleep 30; echo never")
    wait_for(lambda: state_of(run).state == "running" and "started" in run.output)
    run.cancel(by=responder)
    wait_for(finished(run), timeout=20)  # well before the 30 s the command would take
    assert run.state == "cancelled" and "never" not in run.output


def test_a_duplicated_task_does_not_run_the_command_twice(celery_worker, responder):
    run = dispatch(responder, "echo once")
    for _ in range(3):  # the broker redelivering, or a person double-clicking through some other path
        tasks.run_command.apply_async((run.pk,), queue="commands")
    wait_for(finished(run))
    time.sleep(1.0)  # let the duplicates reach the worker and give up
    assert state_of(run).output == "once\n"
    started = run.incident.timeline.filter(kind=EventKind.COMMAND, message__contains="started on").count()
    assert started == 1


def test_a_program_missing_on_the_worker_host_fails_with_a_plain_message(celery_worker, responder):
    run = dispatch(responder, "kubectl-absent-here get pods", programs=["kubectl-absent-here"])
    wait_for(finished(run))
    assert run.state == "failed"
    assert run.reason == f"kubectl-absent-here: not found on worker host {run.worker_host}"


def test_a_worker_killed_mid_run_leaves_a_run_the_auditor_marks_lost(
        celery_worker, responder, tmp_path, settings):
    """kill -9 a worker (its own, on its own queue) while it runs a command: nobody will ever finish it."""
    worker = start_worker(tmp_path / "doomed.log", queues="doomed", name=f"doomed-{os.getpid()}",
                          extra=["-P", "solo"])
    try:
        run = dispatch(responder, "echo started; sleep 20", queue="doomed")
        wait_for(lambda: state_of(run).state == "running" and "started" in run.output)
        children = psutil.Process(worker.pid).children(recursive=True)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        stop_worker(worker)
    for child in children:  # the command's own process group outlives the worker: tidy up after the test
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    settings.COMMAND_HEARTBEAT_TIMEOUT_SECONDS = 1
    time.sleep(1.5)
    assert tasks.audit_lost_runs() == 1
    state_of(run)
    assert run.state == "lost" and run.worker_host in run.reason
    assert run.incident.timeline.filter(message__startswith=f"Run #{run.pk} was lost").exists()


def test_a_command_on_the_worker_cannot_read_its_environment_its_files_or_its_database_password(
        celery_worker, responder):
    need(os.geteuid() == 0 and os.environ.get("COMMAND_RUN_USER"),
         "the worker switches users only as root, with COMMAND_RUN_USER (tests/services.py sets it)")
    handle, private = tempfile.mkstemp(prefix="worker-only-", dir="/var/tmp")  # mode 0600, the worker's
    os.write(handle, WORKER_DB_PASSWORD.encode())
    os.close(handle)
    try:
        run = dispatch(responder, f"cat /proc/$PPID/environ; cat /proc/*/environ; env; cat {private}; id -un",
                       programs=("cat", "env", "id"))
        wait_for(finished(run))
    finally:
        os.unlink(private)
    assert WORKER_DB_PASSWORD not in run.output and "DATABASE_URL" not in run.output
    assert "SECRET_KEY" not in run.output and "Permission denied" in run.output
    assert run.output.strip().splitlines()[-1] == os.environ["COMMAND_RUN_USER"]
    report = run.target.__class__.objects.get(pk=run.target_id).worker_report
    assert report["separate_user"] is True and report["summary"].startswith(
        f"runs commands as user {os.environ['COMMAND_RUN_USER']}")
