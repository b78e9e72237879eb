"""A commander finds a runbook by typing in the incident page's attach box and attaches it; the checklist appears."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from incidents.models import Incident
from tests.factories import make_runbook, make_severities

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_attach_by_searching(commander, new_page, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    severities = make_severities()
    make_runbook("Disk full on database host", alerts=["DiskFull"],
                 steps=[("mitigation", "Free space on the data volume", [])])
    make_runbook("TLS certificate expiring", steps=[("mitigation", "Renew the certificate with the ACME client", [])])
    incident = Incident.declare(title="Orders fail: disk full on db-2", severity=severities[1], by=commander,
                                commander=commander)
    page = new_page(commander)
    page.goto(incident.get_absolute_url())
    page.click("#attach-q")
    page.wait_for_selector("#attach-results >> text=Disk full on database host")  # suggested by the title
    page.fill("#attach-q", "certificate")
    result = page.wait_for_selector("#attach-results li:has-text('TLS certificate expiring')")
    assert page.locator("#attach-results li").count() == 1
    page.screenshot(path=str(shots / "attach-search.png"), full_page=True)
    result.query_selector("button").click()
    page.wait_for_selector("#checklists >> text=Renew the certificate with the ACME client")
    assert page.input_value("#attach-q") == "" and page.locator("#attach-results li").count() == 0
    assert incident.runbooks.filter(runbook__title="TLS certificate expiring").exists()
