"""'Send me a test message' on /setup/: an email to me and a chat post, now, through incidents/notify.py."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.urls import reverse

from setup import workers
from tests.paging_factories import make_channel, make_person
from tests.setup.webhook import WebhookServer

pytestmark = pytest.mark.django_db
URL = reverse("setup:test_message")


@pytest.fixture(autouse=True)
def quiet(settings, monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    monkeypatch.setattr(workers, "_ask_if_any", dict)


@pytest.fixture
def hook():
    server = WebhookServer()
    yield server
    server.close()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_test_email_goes_to_my_address_and_a_test_post_to_the_chosen_channel(client, admin_user, hook, caplog):
    caplog.set_level(logging.DEBUG)
    channel = make_channel("#incidents", webhook_url=hook.url)
    client.force_login(admin_user)
    response = client.post(URL, {"to_me": "on", "contact": channel.pk}, follow=True)

    assert response.redirect_chain[-1][0].endswith("/setup/#test-message")
    (email,) = mail.outbox
    assert email.to == ["ada@example.com"] and "Test message from Incident Console" in email.subject
    assert hook.texts() and "Test message from Incident Console" in hook.texts()[0]
    said = " ".join(messages_of(response))
    assert "Test email to ada@example.com handed over" in said
    assert "Test message posted to #incidents (127.0.0.1/…)" in said
    assert "the-secret-part" not in response.content.decode()  # the webhook's path is a credential
    assert "the-secret-part" not in caplog.text  # nor in the logs (httpx logs URLs at INFO)


def test_a_webhook_that_refuses_says_why_and_the_page_goes_on(client, admin_user):
    server = WebhookServer(status=404)
    try:
        channel = make_channel("#gone", webhook_url=server.url)
        client.force_login(admin_user)
        response = client.post(URL, {"contact": channel.pk}, follow=True)
    finally:
        server.close()
    assert response.status_code == 200
    assert "The test post to #gone did not go through: 127.0.0.1 answered 404" in " ".join(messages_of(response))
    assert not mail.outbox


def test_a_mail_server_that_cannot_be_reached_is_said_not_a_500(client, admin_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    client.force_login(admin_user)
    response = client.post(URL, {"to_me": "on"}, follow=True)
    assert response.status_code == 200
    assert "The test email to ada@example.com did not go out: the mail server" in " ".join(messages_of(response))


@pytest.mark.parametrize("data, says", [
    ({}, "Choose where to send the test message"),
    ({"contact": "999999"}, "Select a valid choice"),
    ({"contact": "not-a-number"}, "Select a valid choice"),
    ({"contact": "1" * 40}, "Select a valid choice"),
])
def test_bad_choices_are_refused_with_a_message_and_nothing_is_sent(client, admin_user, data, says):
    make_channel("#nohook")  # no webhook: not offered
    client.force_login(admin_user)
    response = client.post(URL, data)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not mail.outbox


def test_a_contact_without_a_webhook_cannot_be_chosen(client, admin_user):
    person = make_person("Ana Oncall")
    client.force_login(admin_user)
    response = client.post(URL, {"contact": person.pk})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_an_admin_without_an_email_address_is_told_how_to_fix_it(client, admin_user):
    admin_user.email = ""
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(URL, {"to_me": "on"})
    assert response.status_code == 400
    assert "Your account has no email address" in response.content.decode()


def test_only_admins_send_test_messages_and_only_by_post(client, admin_user, commander):
    client.force_login(commander)
    assert client.post(URL, {"to_me": "on"}).status_code == 403
    client.force_login(admin_user)
    assert client.get(URL).status_code == 405
    assert not mail.outbox
