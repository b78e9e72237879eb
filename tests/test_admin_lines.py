"""In the admin, lists and small mappings are edited as lines of text, step commands on the runbook's own page,
and the admin is branded as the console."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import ExecutionTarget
from runbooks.models import Command, Runbook
from tests.factories import make_runbook
from tests.runbooks.test_admin import _formset_data

pytestmark = pytest.mark.django_db


def runbook_page(client, runbook) -> str:
    return client.get(reverse("admin:runbooks_runbook_change", args=[runbook.pk])).content.decode()


def post_runbook(client, runbook, **fields):
    return client.post(reverse("admin:runbooks_runbook_change", args=[runbook.pk]), _formset_data(runbook, **fields))


def test_alerts_and_error_patterns_are_shown_and_saved_one_a_line(admin_client):
    runbook = make_runbook("Checkout errors", alerts=["CheckoutErrorRate", "CheckoutLatency"])
    page = runbook_page(admin_client, runbook)
    assert "CheckoutErrorRate\nCheckoutLatency</textarea>" in page and "[&quot;" not in page
    response = post_runbook(admin_client, runbook, alerts="CheckoutErrorRate\n\n  PaymentsDown  \n",
                            error_patterns="upstream connect error\nconnection reset by peer")
    assert response.status_code == 302, response.content.decode()[:3000]
    runbook.refresh_from_db()
    assert runbook.alerts == ["CheckoutErrorRate", "PaymentsDown"]
    assert runbook.error_patterns == ["upstream connect error", "connection reset by peer"]


def test_a_list_pasted_as_json_is_still_read_as_its_items(admin_client):
    runbook = make_runbook("Checkout errors")
    post_runbook(admin_client, runbook, alerts='["A", "B"]')
    runbook.refresh_from_db()
    assert runbook.alerts == ["A", "B"]


def target_data(**fields) -> dict:
    data = {"name": "k8s", "queue": "commands", "allowed_programs": "kubectl\ncurl", "timeout_seconds": "300",
            "output_cap_bytes": "262144", "environment": "", "env_passthrough": "", "secret_parameters": "",
            "sql_dsn_env": ""}
    return {**data, **fields}


def test_a_target_s_programs_and_environment_are_lines(admin_client):
    response = admin_client.post(reverse("admin:incidents_executiontarget_add"), target_data(
        environment="REGION = eu-west-1\nCLUSTER=prod-a", env_passthrough="KUBECONFIG_DIR"))
    assert response.status_code == 302, response.content.decode()[:3000]
    target = ExecutionTarget.objects.get(name="k8s")
    assert target.allowed_programs == ["kubectl", "curl"]
    assert target.environment == {"REGION": "eu-west-1", "CLUSTER": "prod-a"}
    assert target.env_passthrough == ["KUBECONFIG_DIR"]
    page = admin_client.get(reverse("admin:incidents_executiontarget_change", args=[target.pk])).content.decode()
    assert "REGION = eu-west-1\nCLUSTER = prod-a</textarea>" in page


@pytest.mark.parametrize(("field", "text", "message"), [
    ("env_passthrough", "API_TOKEN\napi token", "Line 2: “api token” is not a variable name"),
    ("environment", "REGION eu-west-1", "Line 1: write “NAME = value” (found “REGION eu-west-1”)."),
    ("environment", "A = 1\nA = 2", "Line 2: “A” is given twice."),
    ("allowed_programs", "kubectl; rm -rf /", "Line 1: “kubectl; rm -rf /” is not a program name"),
])
def test_a_bad_line_is_named_and_nothing_is_stored(admin_client, field, text, message):
    response = admin_client.post(reverse("admin:incidents_executiontarget_add"), target_data(**{field: text}))
    page = response.content.decode()
    assert response.status_code == 200
    assert message.replace("“", "&ldquo;").split("&ldquo;")[0] in page
    assert message in page.replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert f"{text}</textarea>" in page  # what was typed is shown again, to fix
    assert not ExecutionTarget.objects.exists()


def test_postmortem_due_days_are_whole_numbers_one_a_line(admin_client):
    from incidents.models import PostmortemPolicy

    url = reverse("admin:incidents_postmortempolicy_add")
    bad = admin_client.post(url, {"impact_minutes": "60", "due_days": "7\nsoon"})
    assert "Line 2: “soon” is not a whole number of days." in bad.content.decode().replace("&ldquo;", "“") \
        .replace("&rdquo;", "”")
    assert not PostmortemPolicy.objects.exists()
    assert admin_client.post(url, {"impact_minutes": "60", "due_days": "7\n14\n30"}).status_code == 302
    assert PostmortemPolicy.objects.get().due_days == [7, 14, 30]


def commands_of(runbook: Runbook, order: int) -> list[Command]:
    return list(runbook.steps.get(order=order).commands.order_by("order"))


def test_step_commands_are_edited_on_the_runbook_page_and_record_a_version(admin_client):
    runbook = make_runbook("Checkout latency high")  # step 1: kubectl get pods; step 2: a rollout restart
    pods = commands_of(runbook, 1)[0]
    pods.needs_approval = True
    pods.save()
    page = runbook_page(admin_client, runbook)
    assert "kubectl get pods -n &lt;namespace&gt;</textarea>" in page
    text = ("kubectl top pods -n <namespace>\n---\nkubectl get pods -n <namespace>\n---\n"
            "for pod in $(kubectl get pods -o name); do\n  kubectl describe $pod\ndone")
    response = post_runbook(admin_client, runbook, **{"steps-1-commands_text": text,
                                                      "steps-2-commands_text": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    commands = commands_of(runbook, 1)
    assert [c.text for c in commands] == ["kubectl top pods -n <namespace>", "kubectl get pods -n <namespace>",
                                          "for pod in $(kubectl get pods -o name); do\n  kubectl describe $pod\ndone"]
    assert commands[1].pk == pods.pk and commands[1].needs_approval  # unchanged text: the same command, moved
    assert commands[0].parameters == ["namespace"]
    assert commands_of(runbook, 2) == []  # emptied: the step's command removed
    version = runbook.versions.latest("number")
    assert version.number == 2
    assert [c["text"] for c in version.snapshot["steps"][1]["commands"]][0] == "kubectl top pods -n <namespace>"


def test_a_post_without_the_commands_box_leaves_the_commands_alone(admin_client):
    runbook = make_runbook("Checkout latency high")
    post_runbook(admin_client, runbook, **{"steps-0-text": "Confirm p99 latency"})
    assert [c.text for c in commands_of(runbook, 1)] == ["kubectl get pods -n <namespace>"]


def test_the_admin_is_branded_as_the_console(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Incident Console · admin" in page and "Django administration" not in page
    assert "<title>Runbooks, people, paging and how commands run | Incident Console admin</title>" in page
    assert "Back to the console" in page and "favicon" in page
