"""The execution target's admin page says how its worker runs commands and what is refused even when allowed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents import tasks
from incidents.models import CommandRun, ExecutionTarget
from tests.incidents.test_command_runs import item_of, make_incident

pytestmark = pytest.mark.django_db


def change_page(client, target) -> str:
    return client.get(reverse("admin:incidents_executiontarget_change", args=[target.pk])).content.decode()


def test_the_page_shows_the_refused_options_of_the_programs_it_allows(as_user, admin_user):
    target = ExecutionTarget.objects.create(name="k8s", allowed_programs=["kubectl", "uptime"])
    page = change_page(as_user(admin_user), target)
    assert "--kubeconfig" in page and "exec credential plugin" in page
    assert "KUBECONFIG" in page and "PYTHONPATH" in page
    assert "ProxyCommand" not in page  # ssh is not allowed here


def test_the_page_says_when_its_worker_runs_commands_as_its_own_user(as_user, admin_user, responder, settings):
    settings.COMMAND_RUN_USER, settings.COMMAND_ALLOW_SAME_USER, settings.COMMAND_SANDBOX = "", True, "off"
    target = ExecutionTarget.objects.create(name="laptop", allowed_programs=["echo"], is_default=True)
    page = change_page(as_user(admin_user), target)
    assert "No worker has run a command on this target yet" in page
    incident = make_incident(responder, commands=["echo hi"])
    run = CommandRun.request(item=item_of(incident), index=0, values={}, by=responder, target=target)
    assert tasks.run_command(run.pk) == "succeeded"
    page = change_page(as_user(admin_user), target)
    assert "as the worker&#x27;s own user (COMMAND_ALLOW_SAME_USER=true: commands can read the worker&#x27;s " \
           "environment and files)" in page
    run_form = as_user(responder).get(reverse("incidents:run_new", args=[incident.pk, item_of(incident).pk, 0]))
    assert "COMMAND_ALLOW_SAME_USER=true" in run_form.content.decode()


def test_a_worker_that_refuses_says_why_on_the_page_and_in_the_run(as_user, admin_user, responder, settings):
    settings.COMMAND_RUN_USER, settings.COMMAND_ALLOW_SAME_USER = "", False
    target = ExecutionTarget.objects.create(name="strict", allowed_programs=["echo"], is_default=True)
    incident = make_incident(responder, commands=["echo hi"])
    run = CommandRun.request(item=item_of(incident), index=0, values={}, by=responder, target=target)
    tasks.run_command(run.pk)
    run.refresh_from_db()
    assert run.state == "failed" and "COMMAND_RUN_USER is not set" in run.reason and run.output == ""
    assert "refuses to run commands: COMMAND_RUN_USER is not set" in change_page(as_user(admin_user), target)
