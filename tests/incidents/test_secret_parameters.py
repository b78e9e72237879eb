"""Secrets are never typed into forms or stored: the worker fills them in from its environment."""

from __future__ import annotations

from unittest import mock

import pytest

from incidents import tasks
from incidents.models import CommandRun, ExecutionTarget
from runbooks.commandtext import ParameterError, is_secret_name, render_script
from tests.incidents.test_command_runs import command_events, item_of, make_incident, post_run, run_url

pytestmark = pytest.mark.django_db

TOKEN = "tok-4b1d-very-secret-value"
CURL = 'echo "calling <url> with Bearer <api-token>"'


@pytest.fixture
def target(db):
    return ExecutionTarget.objects.create(name="local", queue="commands", allowed_programs=["echo", "curl"],
                                          is_default=True, timeout_seconds=20, env_passthrough=["API_TOKEN"])


@pytest.mark.parametrize(("name", "secret"), [
    ("API_TOKEN", True), ("db-password", True), ("ORDERS_DSN", True), ("client.secret", True), ("ssh_key", True),
    ("token", True), ("pod", False), ("namespace", False), ("keyboard", False), ("tokens_used", False),
])
def test_a_parameter_is_secret_by_its_name(name, secret):
    assert is_secret_name(name) is secret


def test_the_form_asks_for_no_secret_and_says_where_it_comes_from(as_user, responder, target):
    incident = make_incident(responder, commands=[CURL])
    page = as_user(responder).get(run_url(incident)).content.decode()
    assert 'name="param_url"' in page
    assert "param_api-token" not in page
    assert "<code>API_TOKEN</code> from its own environment" in page


def test_a_parameter_the_target_lists_is_a_secret_too(as_user, responder, target):
    target.secret_parameters = ["deploy_pin"]
    target.save()
    incident = make_incident(responder, commands=["echo <deploy_pin> <pod>"])
    page = as_user(responder).get(run_url(incident)).content.decode()
    assert 'name="param_pod"' in page and "param_deploy_pin" not in page


def test_the_stored_run_holds_a_reference_never_the_value(as_user, responder, target):
    incident = make_incident(responder, commands=[CURL])
    client = as_user(responder)
    script = 'echo "calling https://api.example.com with Bearer ${API_TOKEN}"'
    with mock.patch.object(tasks.run_command, "apply_async"), \
            mock.patch("django.db.transaction.on_commit", lambda f: f()):
        response = post_run(client, incident, url="https://api.example.com", **{"api-token": TOKEN},
                            preview_of=script)
    assert response.status_code == 302
    run = CommandRun.objects.get()
    assert run.script == script
    assert run.parameters == {"url": "https://api.example.com"}
    assert run.secret_parameters == ["API_TOKEN"]
    assert all(TOKEN not in message for message in command_events(incident))


def test_a_value_that_looks_like_a_secret_is_refused_in_an_ordinary_field(as_user, responder, target):
    incident = make_incident(responder, commands=["echo <header>"])
    response = post_run(as_user(responder), incident, action="preview", header="token=abcd1234efgh")
    assert "This looks like a secret" in response.content.decode()
    assert not CommandRun.objects.exists()


def test_the_worker_fills_the_secret_in_and_redacts_it_everywhere(responder, target, monkeypatch):
    monkeypatch.setenv("API_TOKEN", TOKEN)
    incident = make_incident(responder, commands=['echo "$API_TOKEN"; echo "<api-token>: command not found"; exit 127'])
    run = CommandRun.request(item=item_of(incident), index=0, values={}, by=responder, target=target)
    with mock.patch.object(tasks.run_command, "apply_async"):
        tasks.run_command(run.pk)
    run.refresh_from_db()
    assert run.state == "failed" and run.exit_code == 127
    assert run.output == "***\n***: command not found\n"
    assert TOKEN not in run.reason and run.reason.startswith("***: not found on worker host")
    assert all(TOKEN not in message for message in command_events(incident))


def test_a_secret_missing_on_the_worker_fails_the_run_with_what_to_set(responder, target, monkeypatch):
    monkeypatch.delenv("API_TOKEN", raising=False)
    incident = make_incident(responder, commands=[CURL])
    run = CommandRun.request(item=item_of(incident), index=0, values={"url": "x"}, by=responder, target=target)
    tasks.run_command(run.pk)
    run.refresh_from_db()
    assert run.state == "failed"
    assert run.reason == f"API_TOKEN is not set in the environment of the worker on {run.worker_host}"


def test_a_secret_the_target_does_not_pass_through_is_not_handed_over(responder, target, monkeypatch):
    monkeypatch.setenv("OTHER_TOKEN", TOKEN)
    incident = make_incident(responder, commands=['echo "<other_token>"'])
    run = CommandRun.request(item=item_of(incident), index=0, values={}, by=responder, target=target)
    tasks.run_command(run.pk)
    run.refresh_from_db()
    assert run.state == "failed" and "OTHER_TOKEN is not one of the variables target 'local' passes through" \
        in run.reason and run.output == ""


def test_a_secret_in_single_quotes_or_sql_is_refused_with_a_reason():
    with pytest.raises(ParameterError, match="inside '…'"):
        render_script("echo '<api-token>'", {}, "bash", secrets=["api-token"])
    with pytest.raises(ParameterError, match="SQL commands get their credentials"):
        render_script("SELECT '<db-password>'", {}, "sql", secrets=["db-password"])
