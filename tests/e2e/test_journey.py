"""The demo journey a commander walks at 3 a.m.: paste an error, declare, run the first command, read its output.

At most five clicks and one typed field, with a real worker. (Its time is measured by bench/bench_journey.py.)
"""

from __future__ import annotations

import pytest

from incidents.models import Incident
from tests.factories import make_runbook, make_severities
from tests.incidents.conftest import celery_worker, roles  # noqa: F401 - the session's real worker; role groups

pytestmark = [pytest.mark.e2e, pytest.mark.integration,
              pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("roles")]

ERROR = "nginx: upstream timed out (110: Connection timed out) while reading response header from upstream"


class Counted:
    """The person's hands: every click and every typed field goes through here."""

    def __init__(self, page):
        self.page, self.clicks, self.typed = page, 0, 0

    def click(self, locator) -> None:
        locator.click()
        self.clicks += 1

    def type_into_focused(self, text: str) -> None:
        self.page.keyboard.insert_text(text)  # as a paste does
        self.typed += 1


def test_from_a_pasted_error_to_a_commands_output_in_five_clicks(
        celery_worker, new_page, commander, tmp_path):  # noqa: F811
    from incidents.models import ExecutionTarget

    severities = make_severities()
    ExecutionTarget.objects.create(name="local", allowed_programs=["echo"], is_default=True)
    make_runbook("Checkout upstream timeouts", alerts=["CheckoutUpstreamTimeout"], patterns=["upstream timed out"],
                 steps=[("investigation", "See what the upstream says", ["echo upstream is slow"]),
                        ("mitigation", "Scale out", [])])
    make_runbook("Disk full", steps=[("triage", "Look at df", [])])

    page = new_page(commander)
    page.goto("/incidents/declare/")
    hands = Counted(page)
    page.locator("#id_symptoms:focus").wait_for()  # the cursor is already in the one box
    hands.type_into_focused(ERROR)
    page.locator("#suggestions input[name=runbooks]:checked").wait_for()  # the strong match, ticked for them
    assert page.locator("#suggestions input[name=runbooks]:checked").count() == 1
    hands.click(page.locator(f"input[name=severity][value='{severities[1].pk}']"))
    page.screenshot(path=str(tmp_path / "declare.png"), full_page=True)
    hands.click(page.get_by_role("button", name="Declare incident"))
    page.wait_for_url("**/incidents/*/")
    incident = Incident.objects.get()
    assert incident.title == ERROR  # made from the first line: nobody typed a title
    assert incident.acknowledged_by == commander  # declaring is their acknowledgement

    hands.click(page.get_by_role("link", name="Run", exact=True).first)
    hands.click(page.locator(".run-slot").first.get_by_role("button", name="Run it"))
    page.locator(".step-runs [data-state=succeeded] pre.output", has_text="upstream is slow").wait_for(
        timeout=15_000)
    page.screenshot(path=str(tmp_path / "output.png"), full_page=True)

    assert hands.clicks <= 5 and hands.typed == 1, (hands.clicks, hands.typed)
