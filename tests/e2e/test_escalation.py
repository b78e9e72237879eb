"""In a browser: whom to call (/escalation/), the questionnaire, and the incident page's "next page" panel."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from incidents import paging
from incidents.models import Incident
from tests.factories import make_service, make_severities
from tests.paging_factories import make_channel, make_person, make_policy, make_rotation, make_team

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
SIZES = [("light", 1440, 900), ("dark", 390, 844), ("light", 1920, 1080), ("dark", 1440, 900)]


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def org(db, monkeypatch):
    monkeypatch.setattr(paging, "enqueue", lambda ids, countdown=None: None)  # no broker: pages stay pending
    sev = make_severities()
    ana = make_person("Ana Oncall", phone="+1 555 0100", handle="@ana", chat_url="https://chat.example.com/ana")
    ben = make_person("Ben Backup", phone="+1 555 0101")
    team = make_team("Checkout team", members=[ana, ben], email="checkout@example.com")
    service = make_service("checkout-api")
    service.owner = team
    service.save()
    rotation = make_rotation("Checkout primary", [ana, ben], handoff_at=timezone.now() - timedelta(hours=3))
    rotation.team = team
    rotation.save()
    ops = make_channel("#checkout-ops", webhook_url="https://hooks.example.com/services/T/B/x")
    make_policy(sev[0], [(5, [rotation, ops]), (10, [make_person("Vic Manager", phone="+1 555 0199")]),
                         (None, [make_person("Dana Director")])], service=service, name="Checkout SEV1")
    return {"sev": sev, "service": service, "ana": ana}


def test_the_lookup_page_answers_whom_to_call_in_one_glance(org, viewer, new_page, shots):
    page = new_page(viewer)
    page.goto("/escalation/")
    page.select_option("#lookup-severity", "SEV1")
    page.select_option("#lookup-service", "checkout-api")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url("**/escalation/?severity=SEV1&service=checkout-api")
    call_now = page.locator(".call-now")
    assert call_now.get_by_role("link", name="☎ +1 555 0100").get_attribute("href") == "tel:+15550100"
    assert call_now.get_by_role("link", name="✉ ana@example.com").is_visible()
    assert "If nobody acknowledges within 5 min" in call_now.inner_text()
    assert page.locator(".dry-run tbody tr").count() == 3
    for scheme, width, height in SIZES:
        shot = new_page(viewer, color_scheme=scheme, width=width, height=height)
        shot.goto("/escalation/?severity=SEV1&service=checkout-api")
        shot.screenshot(path=str(shots / f"escalation-{scheme}-{width}.png"), full_page=True)
        assert shot.evaluate("document.documentElement.scrollWidth") <= width + 1  # nothing wider than the screen


def test_the_questionnaire_suggests_a_level_as_answers_are_ticked(org, viewer, new_page, shots):
    page = new_page(viewer)
    page.goto("/severity/")
    page.locator("#questionnaire input[name=users][value=some]").check()
    page.locator(".suggested", has_text="SEV3").wait_for()  # some users, nothing else known yet
    page.locator("#questionnaire input[name=workaround][value=unsure]").check()
    page.locator(".reasons", has_text="Not sure about").wait_for()
    assert "SEV2" in page.locator(".suggested").inner_text()  # unsure: the higher level
    for scheme, width, height in SIZES[:3]:
        shot = new_page(viewer, color_scheme=scheme, width=width, height=height)
        shot.goto("/severity/?users=most&workaround=no")
        shot.screenshot(path=str(shots / f"severity-{scheme}-{width}.png"), full_page=True)


def test_the_declare_page_opens_the_questionnaire_inside_its_form(org, responder, new_page):
    page = new_page(responder)
    page.goto("/incidents/declare/")
    page.get_by_text("Not sure of the severity?").click()
    page.locator("#questionnaire input[name=impact_data][value=yes]").check()
    page.locator(".suggested").wait_for()
    assert "SEV1" in page.locator(".suggested").inner_text()


def test_the_next_page_panel_pages_by_hand_and_stops_live_when_someone_acknowledges(
        org, commander, responder, new_page, shots):
    incident = Incident.declare(title="Checkout returns 504", severity=org["sev"][0], service=org["service"],
                                by=commander)
    page = new_page(commander)
    page.goto(incident.get_absolute_url())
    panel = page.locator("#paging")
    assert "tier 2" in panel.locator(".next-page").inner_text() and "Vic Manager" in panel.inner_text()
    assert panel.locator('.page-row[data-state="pending"]').count() == 2  # Ana (on call) and #checkout-ops

    panel.locator("#page-contact").select_option(label="Ben Backup")
    panel.get_by_role("button", name="Page now").click()
    page.locator("#paging .page-row", has_text="by hand").wait_for()
    for scheme, width, height in SIZES:
        shot = new_page(commander, color_scheme=scheme, width=width, height=height)
        shot.goto(incident.get_absolute_url())
        shot.locator("#paging").screenshot(path=str(shots / f"panel-{scheme}-{width}.png"))
        if width == 1440 and scheme == "light":
            shot.screenshot(path=str(shots / "incident-with-panel.png"), full_page=True)

    Incident.objects.get(pk=incident.pk).acknowledge(by=responder)  # someone else, elsewhere
    page.locator("#paging .page-state.esc-acknowledged").wait_for(timeout=5000)
    assert page.locator("#paging .next-page").count() == 0
    assert page.locator("#paging .jump-form").count() == 0
