"""A newcomer's first hour, in a real browser, as docs/getting-started.md tells it, from an empty database.

No demo data: the admin account alone (what `make run RUN_ARGS=--no-demo` makes), then the dashboard's
first-run card, /setup/, two documents of different styles imported from the browser (a procedure and a policy
page with the team's own severity scale), a chat channel and an escalation policy added in the admin, a test
message to a webhook server this test starts, and a declared incident that pages that channel.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from incidents import paging
from incidents.models import Incident
from runbooks.models import Contact, EscalationPolicy, Runbook, SeverityLevel
from setup import workers
from tests.conftest import restore_roles
from tests.setup.webhook import WebhookServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Two documents of this test's own, in two styles: a procedure with its phases, and a policy page.
PROCEDURE = b"""# Payment provider timeouts

| Key | Value |
|---|---|
| Service | payments |
| Alert | PaymentTimeoutsHigh |

## Symptoms

- Checkout spinners run for more than ten seconds.
- The payments dashboard shows timeouts above 5%.

## Diagnosis

1. Look at the provider's latency from inside the cluster:
   ```bash
   curl -s -o /dev/null -w '%{time_total}' https://status.provider.example/health
   ```

## Mitigation

1. Switch new checkouts to the fallback provider:
   ```bash
   kubectl set env -n payments deploy/checkout PAYMENT_PROVIDER=fallback
   ```
2. Tell support which orders may need a retry.
"""
POLICY = b"""# How we grade incidents

## Severity levels

| Severity | Meaning | Response Time |
|---|---|---|
| **P1** | Customers cannot pay | 15 minutes |
| **P2** | Paying is slow or fails for some | 1 hour |
| **P3** | Internal tooling only | Next business day |
"""


@pytest.fixture
def hook():
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def first_hour(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_LOOPBACK = True  # the test's webhook server listens on loopback
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    monkeypatch.setattr(workers, "_ask_if_any", dict)  # no broker here: no worker answers
    # A notifications worker, in process: what declaring hands to the queue is delivered at once.
    monkeypatch.setattr(paging, "enqueue", lambda ids, countdown=None: paging.deliver(ids))
    monkeypatch.delenv("CONSOLE_ADMIN_USER", raising=False)
    monkeypatch.delenv("CONSOLE_ADMIN_PASSWORD", raising=False)
    restore_roles()  # what migrate makes; a transactional test's flush took it
    out = io.StringIO()
    call_command("seed_demo", "--admin-only", stdout=out)  # what make run RUN_ARGS=--no-demo does
    login = re.search(r"Admin login: (\S+) / (\S+)", out.getvalue())
    assert login, out.getvalue()  # printed once, as the guide says
    return login.groups()


def logged_in(new_page, login, **size):
    """A browser logged in with the printed admin login, through the login form."""
    page = new_page(None, **size)
    page.goto("/accounts/login/")
    page.fill("#id_username", login[0])
    page.fill("#id_password", login[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    return page


def pick(page, field_id: str, text: str) -> None:
    """Choose `text` in one of the admin's autocomplete fields (select2 over the admin's own JSON view)."""
    page.locator(f"#{field_id} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(text)
    page.locator(".select2-results__option", has_text=text).first.click()


def test_a_newcomer_sets_up_the_console_and_a_declared_incident_pages_their_channel(
        first_hour, hook, new_page, shots):
    assert not Runbook.objects.exists() and not Contact.objects.exists()  # truly empty: no demo
    assert list(User.objects.values_list("username", flat=True)) == ["admin"]
    page = logged_in(new_page, first_hour)

    # 1. The dashboard of an empty console leads to /setup/.
    card = page.locator(".setup-empty")
    assert "Nothing is set up yet" in card.inner_text()
    card.get_by_role("link", name="Open the setup page").click()
    page.wait_for_url("**/setup/")
    runbooks = page.locator("#setup-runbooks")
    assert "Missing" in runbooks.locator(".setup-state").inner_text()

    # 2. Import two documents from the browser: the preview says how each was read, then store.
    runbooks.get_by_role("link", name="Import your runbook documents").click()
    page.wait_for_url("**/setup/import/")
    page.set_input_files("input[type=file]", [
        {"name": "payment-timeouts.md", "mimeType": "text/markdown", "buffer": PROCEDURE},
        {"name": "grading.md", "mimeType": "text/markdown", "buffer": POLICY},
    ])
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url("**/setup/import/*/")
    preview = page.locator("main").inner_text()
    assert "payment-timeouts.md" in preview and "grading.md" in preview
    assert "procedure" in preview and "policy" in preview  # two styles, each read its own way
    assert "Payment provider timeouts" in preview
    page.screenshot(path=str(shots / "newcomer-preview-1440-light.png"), full_page=True)
    page.get_by_role("button", name="Store these documents").click()
    page.wait_for_url("**/setup/")
    assert "1 runbook from 2 documents" in page.locator("#setup-runbooks").inner_text()
    assert "P1, P2, P3" in page.locator("#setup-severity").inner_text()
    assert list(SeverityLevel.objects.order_by("rank").values_list("name", flat=True)) == ["P1", "P2", "P3"]

    # 3. A contact: the team's incident channel, with its chat webhook (the admin, as the guide says).
    page.goto("/admin/runbooks/channel/add/")
    page.fill("#id_name", "#payments-war-room")
    page.fill("#id_new_webhook_url", hook.url)
    page.locator("input[name=_save]").click()
    page.wait_for_url("**/admin/runbooks/channel/")
    assert "was added successfully" in page.locator(".messagelist").inner_text()

    # 4. A policy: for P1, page that channel first.
    page.goto("/admin/runbooks/escalationpolicy/add/")
    page.fill("#id_name", "Payments P1")
    page.select_option("#id_severity", label="P1")
    page.locator(".add-row a", has_text="Add another Escalation tier").click()
    page.fill("#id_tiers-0-order", "1")
    pick(page, "id_tiers-0-contacts", "#payments-war-room")
    page.fill("#id_tiers-0-delay_minutes", "10")
    page.locator("input[name=_save]").click()
    page.wait_for_url("**/admin/runbooks/escalationpolicy/")
    assert EscalationPolicy.objects.get().tiers.get().contacts.get().name == "#payments-war-room"

    # 5. /setup/: the policies are there; send a test message to the channel, which the webhook receives.
    page.goto("/setup/")
    assert "1 policy" in page.locator("#setup-policies").inner_text()
    form = page.locator("#test-message")
    form.locator("#id_to_me").uncheck()  # the chat post alone: the webhook server is what this test hears
    form.locator("#id_contact").select_option(label="#payments-war-room (channel)")
    form.get_by_role("button", name="Send test message").click()
    page.wait_for_url("**/setup/#test-message")
    assert "Test message posted to #payments-war-room" in page.locator(".messages").inner_text()
    assert hook.arrived.wait(5) and "Test message from Incident Console" in hook.texts()[0]
    hook.arrived.clear()
    for scheme, width, height in (("light", 1440, 900), ("dark", 390, 844), ("dark", 1920, 1080)):
        shot = logged_in(new_page, first_hour, color_scheme=scheme, width=width, height=height)
        shot.goto("/setup/")
        shot.screenshot(path=str(shots / f"newcomer-setup-{width}-{scheme}.png"), full_page=True)

    # 6. Declare a P1: its policy pages the channel at once.
    page.get_by_role("link", name="Declare incident").first.click()
    page.wait_for_url("**/declare/")
    page.fill("#id_title", "Customers cannot pay")
    page.locator(".sev-option", has_text="P1").first.click()
    page.get_by_role("button", name="Declare incident").click()
    page.wait_for_url("**/incidents/*/")
    incident = Incident.objects.get()
    assert incident.title == "Customers cannot pay" and incident.severity.name == "P1"
    assert hook.arrived.wait(10), "the channel was not paged"
    paged = hook.texts()[-1]
    assert "Customers cannot pay" in paged and "P1" in paged
    assert incident.pages.get().state == "sent"


PAGES = ["/", "/setup/", "/setup/import/", "/setup/guide/getting-started/", "/setup/guide/deploying/"]
SIZES = [("light", 1440, 900), ("dark", 1440, 900), ("light", 390, 844), ("dark", 390, 844),
         ("light", 1920, 1080), ("dark", 1920, 1080)]


def test_the_setup_pages_fit_a_phone_a_laptop_and_a_wall_in_light_and_dark(first_hour, new_page, shots):
    for scheme, width, height in SIZES:
        page = logged_in(new_page, first_hour, color_scheme=scheme, width=width, height=height)
        for path in PAGES:
            page.goto(path)
            assert page.locator("main h1, main h2").first.is_visible(), path
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} at {width} px scrolls sideways by {overflow} px"
            name = path.strip("/").replace("/", "-") or "dashboard"
            page.screenshot(path=str(shots / f"setup-{name}-{width}-{scheme}.png"), full_page=True)
