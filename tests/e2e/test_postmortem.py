"""A commander resolves an incident, drafts its postmortem, writes in it (autosaved), raises an action item,
publishes, and finds the action item on the dashboard."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from incidents.models import ActionItem, Incident, Postmortem
from tests.factories import make_runbook, make_severities

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_resolve_draft_write_publish_and_see_the_action_item_on_the_dashboard(commander, responder, new_page,
                                                                             shots):
    sev = make_severities()
    runbook = make_runbook("Queue backlog", steps=[("triage", "Check the queue depth", []),
                                                   ("mitigation", "Restart the consumers", [])])
    incident = Incident.declare(title="Orders stuck in the queue", severity=sev[1], by=commander,
                                commander=commander, runbooks=[runbook])

    page = new_page(commander)
    page.goto(incident.get_absolute_url())
    page.locator("#incident-header summary", has_text="Resolve…").click()
    page.fill("#resolve-note", "Restarted the consumers")
    page.get_by_role("button", name="Resolve", exact=True).click()
    page.locator("#incident-header .status-big", has_text="Resolved").wait_for()
    page.locator(".closing-needs", has_text="A postmortem is required").wait_for()
    page.get_by_role("link", name="Postmortem & milestones").click()
    page.wait_for_url(re.compile(r".*/postmortem/$"))

    page.get_by_role("button", name="Generate the draft").click()
    page.get_by_text("Drafted from the record; what people wrote is kept.").wait_for()
    assert "Time to acknowledge" in page.locator("#pm-milestones").inner_text()

    box = page.locator("#section-root_cause-text")
    box.click()
    box.press_sequentially("A malformed message stopped every consumer.", delay=5)
    page.locator("#section-root_cause-status", has_text="Saved at").wait_for()
    assert Postmortem.objects.get().sections.get(key="root_cause").text == \
        "A malformed message stopped every consumer."

    page.locator(".pm-add > summary").click()
    page.fill("#id_description", "Send malformed messages to a dead-letter queue")
    page.select_option("#id_owner", str(responder.pk))
    page.locator(".pm-add-form").get_by_role("button", name="Add").click()
    page.locator("#actions .action-desc", has_text="dead-letter queue").wait_for()
    page.screenshot(path=str(shots / "postmortem-draft-1440.png"), full_page=True)

    page.get_by_role("button", name="Send for review").click()
    page.get_by_role("button", name="Publish").click()
    page.locator(".pm-published", has_text="Published by").wait_for()
    assert page.locator("textarea").count() == 0  # read-only now
    postmortem = Postmortem.objects.get()
    assert postmortem.state == "published" and postmortem.published_by == commander

    page.goto("/")
    page.locator("#action-items", has_text="Send malformed messages to a dead-letter queue").wait_for()
    assert "1 open" in page.locator("#action-items").inner_text()
    page.screenshot(path=str(shots / "dashboard-actions-1440.png"), full_page=True)
    assert ActionItem.objects.get().owner == responder

    # Published: the incident may close now.
    page.goto(incident.get_absolute_url())
    page.locator(".closing-needs", has_text="Nothing blocks closing.").wait_for()
    page.get_by_role("button", name="Closed").click()
    page.locator("#incident-header .status-big", has_text="Closed").wait_for()
