"""A commander declares from a pasted error, attaches the suggested runbook and ticks; a colleague sees it live."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from incidents.models import Incident
from tests.factories import make_runbook, make_service, make_severities

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ERROR = """2026-11-23T09:14:02Z [error] 31#31: *48213 upstream timed out (110: Connection timed out)
while reading response header from upstream, client: 10.2.0.14, server: checkout.internal,
request: "POST /api/v2/orders HTTP/1.1", upstream: "http://10.4.1.22:8080/api/v2/orders"
"""


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_a_tick_reaches_a_second_browser_without_a_reload(commander, responder, new_page, shots):
    make_severities()
    service = make_service("checkout-api")
    runbook = make_runbook(
        "Checkout upstream timeouts", service=service, alerts=["CheckoutUpstreamTimeout"],
        patterns=["upstream timed out"], steps=[
            ("detection", "Confirm the 504 rate on the checkout dashboard", []),
            ("investigation", "List the checkout pods and their restarts", ["kubectl get pods -n <namespace>"]),
            ("mitigation", "Restart the checkout deployment",
             ["kubectl rollout restart deploy/checkout -n <namespace>"]),
            ("verification", "Watch p99 latency return under 300 ms", []),
        ])
    make_runbook("Disk full on a database host", patterns=["No space left on device"],
                 steps=[("mitigation", "Free space", [])])

    page = new_page(commander)
    page.goto("/incidents/declare/")
    page.fill("#id_title", "Checkout returns 504 on order submit")
    page.locator(".sev-option", has_text="SEV2").click()
    with page.expect_response(lambda r: "/declare/suggest/" in r.url) as asked:
        page.fill("#id_symptoms", ERROR)
    assert "csrfmiddlewaretoken" not in asked.value.url  # no token in a URL
    suggested = page.locator(f'#suggestions input[name=runbooks][value="{runbook.pk}"]')
    suggested.wait_for()
    assert page.locator("#suggestions").get_by_text("Disk full").count() == 0
    suggested.check()
    page.get_by_role("button", name="Declare incident").last.click()
    page.wait_for_url(re.compile(r".*/incidents/\d+/$"))
    incident = Incident.objects.get()
    assert incident.commander == commander and incident.runbooks.get().runbook == runbook

    watcher = new_page(responder)
    watcher.goto(incident.get_absolute_url())
    item = incident.checklist.order_by("order").first()
    watched = watcher.locator(f"#item-{item.pk}")
    assert watched.get_attribute("data-state") == "open"

    page.locator(f"#item-{item.pk} button[value=tick]").click()
    # The page polls every second: wait for the change to arrive (a timeout, not a measure of how soon).
    watched.and_(watcher.locator('[data-state="done"]')).wait_for(timeout=10_000)
    assert "Done: Confirm the 504 rate" in watcher.locator("#timeline-list").inner_text()
    assert page.locator(f"#item-{item.pk}").get_attribute("data-state") == "done"
    following = incident.checklist.order_by("order")[1]
    page.locator(f"#item-{following.pk} .tick-button:focus").wait_for(timeout=5_000)  # focus moved on to it

    page.fill("#note-text", "504s started with the 09:10 deploy")
    page.get_by_role("button", name="Add note").click()
    watcher.locator("#timeline-list", has_text="09:10 deploy").wait_for(timeout=10_000)

    for scheme in ("light", "dark"):
        for width in (1440, 1920):
            shot = new_page(commander, color_scheme=scheme, width=width, height=1100)
            shot.goto(incident.get_absolute_url())
            path = shots / f"incident-{scheme}-{width}.png"
            shot.screenshot(path=str(path), full_page=True)
            assert path.stat().st_size > 10_000
    dash = new_page(commander, color_scheme="light")
    dash.goto("/")
    dash.screenshot(path=str(shots / "dashboard-light.png"), full_page=True)
    declare = new_page(commander, color_scheme="dark")
    declare.goto(f"/incidents/declare/?runbook={runbook.slug}")
    with declare.expect_response(lambda r: "/declare/suggest/" in r.url):
        declare.fill("#id_symptoms", ERROR)
    declare.wait_for_timeout(200)
    declare.screenshot(path=str(shots / "declare-dark.png"), full_page=True)
