"""The acknowledge link in a page: signed, expiring, single-purpose, single-use, without logging in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from incidents import paging
from incidents.messages import ACK_SALT, ack_token
from incidents.models import Escalation, EventKind, Incident, Page
from tests.conftest import make_user
from tests.factories import make_severities
from tests.paging_factories import make_person, make_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(commander):
    severities = make_severities()
    ana = make_person("Ana")
    make_policy(severities[0], [(5, [ana]), (5, [make_person("Ben")])])
    incident = Incident.declare(title="Orders stuck", severity=severities[0], by=commander)
    return incident.pages.get()


def link_from_email(page) -> str:
    paging.deliver([page.pk])
    return re.search(r"Acknowledge as Ana: (\S+)", mail.outbox[-1].body).group(1).removeprefix(
        "http://127.0.0.1:8000")


def test_the_link_from_the_email_acknowledges_as_the_contact_without_logging_in(client, page):
    url = link_from_email(page)
    shown = client.get(url)
    assert shown.status_code == 200 and b"Acknowledge as Ana" in shown.content
    assert Incident.objects.get(pk=page.incident_id).acknowledged_at is None  # looking is not acknowledging

    done = client.post(url)
    assert done.status_code == 200 and b"is acknowledged as Ana" in done.content
    incident = Incident.objects.get(pk=page.incident_id)
    assert incident.acknowledged_at is not None and incident.acknowledged_by is None
    event = incident.timeline.get(kind=EventKind.ACKNOWLEDGED)
    assert event.message == "Acknowledged by Ana" and event.data["via"] == "acknowledge link"
    assert Escalation.objects.get(incident=incident).state == "acknowledged"
    assert "_auth_user_id" not in client.session  # no session was opened


def test_a_contact_with_an_account_acknowledges_as_that_user(client, page):
    user = make_user("ana", None)
    page.contact.user = user
    page.contact.save()
    client.post(reverse("page_ack", args=[ack_token(page)]))
    assert Incident.objects.get(pk=page.incident_id).acknowledged_by == user


def test_a_used_link_does_nothing_the_second_time(client, page):
    url = reverse("page_ack", args=[ack_token(page)])
    client.post(url)
    again = client.post(url)
    assert again.status_code == 400 and b"already used" in again.content
    assert Incident.objects.get(pk=page.incident_id).timeline.filter(kind=EventKind.ACKNOWLEDGED).count() == 1


def test_an_expired_link_is_refused_and_the_incident_goes_on(client, page, settings):
    url = reverse("page_ack", args=[ack_token(page)])
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.PAGE_ACK_LINK_MAX_AGE + 5)):
        response = client.post(url)
    assert response.status_code == 400 and b"expired" in response.content
    assert Incident.objects.get(pk=page.incident_id).acknowledged_at is None
    assert Page.objects.get(pk=page.pk).ack_used_at is None


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-3] + ("aaa" if not t.endswith("aaa") else "bbb"),  # tampered signature
    lambda t: signing.dumps({"p": 1}, salt="another.purpose"),  # a token signed for something else
    lambda t: "not-a-token",
])
def test_a_tampered_or_foreign_token_is_refused(client, page, mangle):
    response = client.post(reverse("page_ack", args=[mangle(ack_token(page))]))
    assert response.status_code == 400 and b"not a valid acknowledge link" in response.content
    assert Incident.objects.get(pk=page.incident_id).acknowledged_at is None


def test_a_link_for_an_incident_someone_already_acknowledged_says_so_and_stays_usable(client, page, responder):
    Incident.objects.get(pk=page.incident_id).acknowledge(by=responder)
    url = reverse("page_ack", args=[ack_token(page)])
    assert b"already acknowledged" in client.get(url).content
    response = client.post(url)
    assert response.status_code == 400 and b"Already acknowledged by rosa" in response.content
    assert Page.objects.get(pk=page.pk).ack_used_at is None


def test_the_link_can_do_nothing_but_acknowledge(client, page):
    token = ack_token(page)
    assert signing.loads(token, salt=ACK_SALT) == {"p": page.pk}
    response = client.get(reverse("incidents:detail", args=[page.incident_id]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.put(reverse("page_ack", args=[token])).status_code == 405
