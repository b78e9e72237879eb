"""Run where you read: a command's run opens, runs and shows under its step on the incident page (htmx)."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from incidents.models import CommandRun, ExecutionTarget, Incident
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(db):
    return ExecutionTarget.objects.create(name="bastion", allowed_programs=["echo", "rm"], is_default=True)


def incident_with(by, *commands) -> Incident:
    runbook = make_runbook("Checkout latency high", steps=[("triage", "Look", list(commands))])
    return Incident.declare(title="Checkout is slow", severity=make_severities()[2], by=by, runbooks=[runbook])


def run_url(incident, index=0):
    return reverse("incidents:run_new", args=[incident.pk, incident.checklist.get().pk, index])


def in_place(client, url, data=None):
    if data is None:
        return html.unescape(client.get(url, HTTP_HX_REQUEST="true").content.decode())
    return html.unescape(client.post(url, data, HTTP_HX_REQUEST="true").content.decode())


def token_of(fragment: str) -> str:
    return re.search(r'name="previewed" value="([^"]+)"', fragment).group(1)


def test_the_page_offers_run_beside_each_command_opening_in_place(as_user, responder, target):
    incident = incident_with(responder, "echo one", "echo two")
    page = as_user(responder).get(incident.get_absolute_url()).content.decode()
    item = incident.checklist.get()
    for n in (0, 1):
        assert f'hx-target="#run-slot-{item.pk}-{n}"' in page and f'id="run-slot-{item.pk}-{n}"' in page
        assert f'data-step-runs="{item.pk}-{n}"' in page
    assert f'href="{run_url(incident)}"' in page  # without JavaScript, the plain page


def test_one_click_shows_exactly_what_will_run_and_where(as_user, responder, target):
    incident = incident_with(responder, "echo checkout is fine")
    fragment = in_place(as_user(responder), run_url(incident))
    assert "<html" not in fragment and "What will run" in fragment
    assert "echo checkout is fine" in fragment and ">bastion</option>" in fragment and ">Run it</button>" in fragment
    assert not CommandRun.objects.exists()


def test_a_command_with_parameters_opens_its_form_in_place(as_user, responder, target):
    incident = incident_with(responder, "echo hello <name>")
    fragment = in_place(as_user(responder), run_url(incident))
    assert 'name="param_name"' in fragment and "Show what will run" in fragment and "Run it" not in fragment
    shown = in_place(as_user(responder), run_url(incident), {"action": "preview", "target": target.pk,
                                                            "param_name": "world"})
    assert "echo hello world" in shown and ">Run it</button>" in shown


def test_the_second_click_runs_it_and_the_run_shows_under_its_step(as_user, responder, target):
    incident = incident_with(responder, "echo checkout is fine")
    client = as_user(responder)
    fragment = in_place(client, run_url(incident))
    answer = in_place(client, run_url(incident), {"action": "dispatch", "target": target.pk,
                                                  "previewed": token_of(fragment)})
    run = CommandRun.objects.get()
    item = incident.checklist.get()
    assert run.state == "queued" and run.checklist_item == item
    assert 'id="runs"' in answer and 'hx-swap-oob="true"' in answer and "What will run" not in answer
    assert f'data-step="{item.pk}-0"' in answer and 'class="step-view"' in answer
    assert "Waiting for a worker" in answer and "queued on" not in answer


def test_a_succeeded_run_keeps_its_output_and_offers_to_mark_the_step_done(as_user, responder, target):
    incident = incident_with(responder, "echo checkout is fine")
    run = CommandRun.request(item=incident.checklist.get(), index=0, values={}, by=responder, target=target)
    run.claim("host")
    run.finish(state="succeeded", exit_code=0, output="checkout is fine\n", truncated=False)
    page = as_user(responder).get(incident.get_absolute_url()).content.decode()
    view = page.split('<template class="step-view">')[1].split("</template>")[0]
    assert "checkout is fine" in view and "Mark step done" in view and "Show all" in view and "Download" in view
    assert 'value="tick"' in view


def test_a_program_the_target_does_not_allow_is_refused_before_anything_is_queued(as_user, responder, target):
    incident = incident_with(responder, "hostname -f")
    client = as_user(responder)
    fragment = in_place(client, run_url(incident))
    assert "'hostname' is not on the allow-list" in fragment and "An admin can add it" in fragment
    assert ">Run it</button>" not in fragment
    forced = in_place(client, run_url(incident), {"action": "dispatch", "target": target.pk,
                                                  "previewed": token_of(fragment)})
    assert "not on the allow-list" in forced and not CommandRun.objects.exists()


def test_a_destructive_command_keeps_its_confirmation_in_place(as_user, responder, target):
    incident = incident_with(responder, "rm -rf /tmp/console-test-x")
    client = as_user(responder)
    fragment = in_place(client, run_url(incident))
    assert "I understand this is destructive" in fragment and "destructive" in fragment
    answer = in_place(client, run_url(incident), {"action": "dispatch", "target": target.pk,
                                                  "previewed": token_of(fragment)})
    assert "tick “I understand this is destructive”" in answer and not CommandRun.objects.exists()


def test_a_stale_command_link_says_so_in_place(as_user, responder, target):
    incident = incident_with(responder, "echo one")
    fragment = in_place(as_user(responder), run_url(incident, 4))
    assert "no such command" in fragment and "<html" not in fragment
