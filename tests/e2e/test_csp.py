"""In a real browser, the Content-Security-Policy blocks nothing the console itself needs, and htmx still works."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import ExecutionTarget, Incident
from tests.factories import make_runbook, make_severities

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def watch_violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text or "htmx:evalDisallowedError" in message.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + "
                         "e.blockedURI))")
    return seen


def test_pages_and_admin_run_under_the_policy_without_a_violation(admin_user, new_page):
    severities = make_severities()
    runbook = make_runbook("Checkout latency", steps=[("investigation", "List pods", ["echo <namespace>"])])
    incident = Incident.declare(title="Checkout slow", severity=severities[1], by=admin_user, runbooks=[runbook])
    target = ExecutionTarget.objects.create(name="local", allowed_programs=["echo", "kubectl"], is_default=True)
    page = new_page(admin_user)
    seen = watch_violations(page)
    item = incident.checklist.get()
    for path in ["/", incident.get_absolute_url(), reverse("incidents:run_new", args=[incident.pk, item.pk, 0]),
                 "/runbooks/", reverse("runbooks:detail", args=[runbook.slug]), "/runbooks/severity/", "/admin/",
                 "/admin/incidents/incident/",
                 f"/admin/incidents/executiontarget/{target.pk}/change/", "/admin/runbooks/runbook/add/"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert seen == []


def test_htmx_still_posts_a_note_and_clears_the_form_without_eval(admin_user, new_page):
    incident = Incident.declare(title="Queue stuck", severity=make_severities()[2], by=admin_user)
    page = new_page(admin_user)
    seen = watch_violations(page)
    page.goto(incident.get_absolute_url())
    page.fill("#note-text", "Consumers restarted")
    page.get_by_role("button", name="Add note").click()
    page.locator("#timeline-card").get_by_text("Consumers restarted").wait_for()
    assert page.input_value("#note-text") == ""  # reset by console.js, not an hx-on handler
    assert seen == []
