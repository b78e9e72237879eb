"""Every admin change to runbooks and execution targets is kept with its before and after; pinned checklist
copies cannot be edited in the admin at all."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.urls import reverse

from accounts.audit import logged_values
from incidents.models import ChecklistItem, ExecutionTarget, Incident
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def target_form(target: ExecutionTarget, **changes) -> dict:
    data = {"name": target.name, "queue": target.queue, "allowed_programs": json.dumps(target.allowed_programs),
            "timeout_seconds": str(target.timeout_seconds), "output_cap_bytes": str(target.output_cap_bytes),
            "environment": json.dumps(target.environment), "env_passthrough": json.dumps(target.env_passthrough),
            "secret_parameters": json.dumps(target.secret_parameters), "sql_dsn_env": target.sql_dsn_env}
    data.update(changes)
    return data


def entry_for(obj, flag) -> LogEntry:
    return LogEntry.objects.filter(object_id=str(obj.pk), action_flag=flag).latest("action_time")


def test_a_target_change_is_logged_with_what_it_was_and_what_it_became(admin_client):
    target = ExecutionTarget.objects.create(name="bastion", allowed_programs=["kubectl"])
    response = admin_client.post(reverse("admin:incidents_executiontarget_change", args=[target.pk]),
                                 target_form(target, allowed_programs='["kubectl", "bash"]', timeout_seconds="30"))
    assert response.status_code == 302
    rows = {row["field"]: row for row in logged_values(entry_for(target, CHANGE))}
    programs = rows["allowed_programs"]
    assert programs["before"] == ["kubectl"] and programs["after"] == ["kubectl", "bash"]
    assert (rows["timeout_seconds"]["before"], rows["timeout_seconds"]["after"]) == (300, 30)
    history = admin_client.get(reverse("admin:incidents_executiontarget_history", args=[target.pk])).content.decode()
    assert "allowed_programs" in history and "[&quot;kubectl&quot;, &quot;bash&quot;]" in history


def test_adding_and_deleting_a_target_keep_the_whole_object(admin_client):
    response = admin_client.post(reverse("admin:incidents_executiontarget_add"),
                                 target_form(ExecutionTarget(name="new", allowed_programs=["uptime"])))
    assert response.status_code == 302
    target = ExecutionTarget.objects.get(name="new")
    added = {row["field"]: row["after"] for row in logged_values(entry_for(target, ADDITION))}
    assert added["allowed_programs"] == ["uptime"] and added["name"] == "new"
    admin_client.post(reverse("admin:incidents_executiontarget_delete", args=[target.pk]), {"post": "yes"})
    assert not ExecutionTarget.objects.filter(pk=target.pk).exists()
    deleted = {row["field"]: row["before"] for row in logged_values(entry_for(target, DELETION))}
    assert deleted["allowed_programs"] == ["uptime"]


def test_a_command_edited_on_its_step_page_is_logged_before_and_after(admin_client):
    runbook = make_runbook("Checkout latency high")
    step = runbook.steps.get(order=1)
    command = step.commands.get()
    data = {"runbook": str(runbook.pk), "order": "1", "phase": step.phase, "heading": "", "text": step.text,
            "commands-TOTAL_FORMS": "1", "commands-INITIAL_FORMS": "1", "commands-MIN_NUM_FORMS": "0",
            "commands-MAX_NUM_FORMS": "1000", "commands-0-id": str(command.pk), "commands-0-step": str(step.pk),
            "commands-0-order": "0", "commands-0-language": "bash",
            "commands-0-text": "kubectl delete pods --all -n <namespace>", "commands-0-destructive_override": ""}
    assert admin_client.post(reverse("admin:runbooks_step_change", args=[step.pk]), data).status_code == 302
    rows = logged_values(entry_for(step, CHANGE))
    text = next(row for row in rows if row["field"] == "text" and row["what"].startswith("changed command"))
    assert text["before"] == "kubectl get pods -n <namespace>"
    assert text["after"] == "kubectl delete pods --all -n <namespace>"


def test_a_runbook_title_change_is_logged_before_and_after(admin_client):
    runbook = make_runbook("Checkout latency high")
    page = admin_client.get(reverse("admin:runbooks_runbook_change", args=[runbook.pk]))
    assert page.status_code == 200
    from tests.runbooks.test_admin import _formset_data

    data = _formset_data(runbook)
    data["title"] = "Checkout latency very high"
    assert admin_client.post(reverse("admin:runbooks_runbook_change", args=[runbook.pk]), data).status_code == 302
    rows = {row["field"]: row for row in logged_values(entry_for(runbook, CHANGE))}
    assert rows["title"]["before"] == "Checkout latency high" and rows["title"]["after"] == "Checkout latency very high"


def test_pinned_checklist_copies_cannot_be_edited_in_the_admin(admin_client, admin_user):
    runbook = make_runbook("Checkout latency high")
    incident = Incident.declare(title="Slow", severity=make_severities()[2], by=admin_user, runbooks=[runbook])
    item = incident.checklist.order_by("order")[1]  # "List the pods", with its pinned command
    before = list(item.commands)
    url = reverse("admin:incidents_checklistitem_change", args=[item.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="commands"' not in page and "kubectl get pods" in page  # shown, not editable
    admin_client.post(url, {"commands": '[{"text": "rm -rf /", "language": "bash"}]', "state": "done"})
    item.refresh_from_db()
    assert item.commands == before and item.state == ChecklistItem.State.OPEN
    assert admin_client.get(reverse("admin:incidents_checklistitem_add")).status_code == 403
