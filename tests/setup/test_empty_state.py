"""The dashboard's empty state: while nothing is configured it leads an admin to /setup/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_runbook, make_severities
from tests.paging_factories import make_person

pytestmark = pytest.mark.django_db


def dashboard(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("dashboard")).content.decode()


def test_an_admin_on_an_empty_console_is_shown_the_three_steps_and_the_setup_page(client, admin_user):
    html = dashboard(client, admin_user)
    assert "Nothing is set up yet" in html
    assert f'href="{reverse("setup:import")}"' in html
    assert f'href="{reverse("setup:page")}"' in html
    assert reverse("admin:runbooks_escalationpolicy_add") in html


def test_others_are_told_an_admin_sets_it_up_without_links_they_cannot_use(client, responder):
    html = dashboard(client, responder)
    assert "Nothing is set up yet" in html and "An admin sets the console up" in html
    assert f'href="{reverse("setup:page")}"' not in html


@pytest.mark.parametrize("configure", [
    lambda: make_runbook("Disk full"), lambda: make_severities(), lambda: make_person("Ana Oncall"),
])
def test_anything_configured_removes_it(client, admin_user, configure):
    configure()
    assert "Nothing is set up yet" not in dashboard(client, admin_user)


def test_a_dashboard_with_incidents_does_not_even_ask(client, admin_user, django_assert_max_num_queries):
    from incidents.models import Incident
    from runbooks.models import Runbook, SeverityLevel

    level = make_severities()[0]
    Incident.declare(title="Checkout down", severity=level, by=admin_user)
    Runbook.objects.all().delete()
    SeverityLevel.objects.exclude(pk=level.pk).delete()
    html = dashboard(client, admin_user)
    assert "Checkout down" in html and "Nothing is set up yet" not in html
