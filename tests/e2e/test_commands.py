"""A commander runs a runbook command from the incident page and watches its output stream in."""

from __future__ import annotations

import pytest

from incidents.models import CommandRun, ExecutionTarget, Incident
from tests.factories import make_runbook, make_severities
from tests.incidents.conftest import celery_worker, roles  # noqa: F401 - the session's real worker; role groups

pytestmark = [pytest.mark.e2e, pytest.mark.integration,
              pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("roles")]

LOOP = "for i in 1 2 3; do echo step $i; sleep 1; done"


def test_a_commander_dispatches_a_command_and_sees_its_output_stream_in(
        celery_worker, new_page, commander, tmp_path):  # noqa: F811
    severities = make_severities()
    ExecutionTarget.objects.create(name="local", allowed_programs=["echo", "sleep"], is_default=True)
    runbook = make_runbook("Demo loop", steps=[("investigation", "Watch the loop", [LOOP])])
    incident = Incident.declare(title="Checkout latency", severity=severities[2], by=commander, runbooks=[runbook])

    page = new_page(commander)
    page.goto(f"/incidents/{incident.pk}/")
    # Run where you read: one click shows, under the step, exactly what will run and where; a second runs it.
    page.get_by_role("link", name="Run", exact=True).first.click()
    slot = page.locator(".run-slot").first
    slot.locator("pre.script").wait_for(timeout=5_000)
    assert slot.locator("pre.script").inner_text().strip() == LOOP
    assert slot.locator("select[name=target] option:checked").inner_text() == "local"
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
    slot.get_by_role("button", name="Run it").click()
    assert page.url.endswith(f"/incidents/{incident.pk}/")  # no page change

    # Locators, not wait_for_function: the Content-Security-Policy forbids the eval a string predicate needs.
    step = page.locator(".step-runs").first
    step.locator("[data-state=running] pre.output", has_text="step 1").wait_for(timeout=10_000)
    assert "step 3" not in step.locator("pre.output").inner_text()  # seen under its step while it runs
    assert slot.inner_text().strip() == ""  # the form closed; no "queued" message is left behind
    page.locator("#runs [data-state=running] pre.output", has_text="step 1").wait_for(timeout=5_000)
    page.locator("#runs").screenshot(path=str(tmp_path / "running.png"))
    run = CommandRun.objects.get()

    # Someone starts to say why they skip a step: the page around the form keeps still, the output keeps coming.
    skip = page.locator("#checklists details.skip").first
    skip.locator("summary").click()
    page.locator("#runs [data-state=succeeded]").first.wait_for(state="attached", timeout=15_000)
    assert skip.get_attribute("open") is not None  # the checklist was not refreshed under the open form
    assert page.locator("#live-hold").is_visible()  # and the page says the rest waits
    skip.locator("summary").click()  # closed again: the poll brings the rest
    page.locator("#timeline-list", has_text=f"Run #{run.pk} succeeded").wait_for(timeout=10_000)
    run.refresh_from_db()
    assert run.output == "step 1\nstep 2\nstep 3\n"
    # The output stays under its step once it ended, with a way to mark the step done.
    step.locator("[data-state=succeeded] pre.output", has_text="step 3").wait_for(timeout=5_000)
    page.screenshot(path=str(tmp_path / "succeeded.png"), full_page=True)
    step.get_by_role("button", name="Mark step done").click()
    page.locator("#checklists li[data-state=done]").wait_for(timeout=5_000)
    assert "step 3" in step.locator("pre.output").inner_text()
    assert step.get_by_role("button", name="Mark step done").count() == 0
    page.locator("#runs details summary").first.click()
    assert "step 3" in page.locator("#runs details pre.output").inner_text()
    for scheme in ("light", "dark"):
        for width in (1440, 1920):
            shot = new_page(commander, color_scheme=scheme, width=width)
            shot.goto(f"/incidents/{incident.pk}/runs/")
            shot.screenshot(path=str(tmp_path / f"runs-{scheme}-{width}.png"), full_page=True)
