"""Logging in, and repeated failed logins throttled per user name (and, more loosely, per address)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.conftest import make_user


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    return make_user("alice", None)


def attempt(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_login_page_needs_no_login(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_pages_send_an_anonymous_visitor_to_the_login_page(client, db):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_right_password_logs_in_and_goes_to_the_dashboard(client, alice):
    response = attempt(client, "alice", "pw")
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_a_wrong_password_says_so_on_the_page(client, alice):
    response = attempt(client, "alice", "nope")
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_the_sixth_failed_attempt_is_refused_even_with_the_right_password(client, alice, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert attempt(client, "alice", "nope").status_code == 200
    response = attempt(client, "alice", "pw")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_throttling_ignores_the_case_of_the_user_name(client, alice, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        attempt(client, "Alice", "nope")
    assert attempt(client, "alice", "pw").status_code == 429


def test_other_users_are_not_locked_out_by_someone_elses_failures(client, alice, settings):
    make_user("bob", None)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        attempt(client, "alice", "nope")
    assert attempt(client, "bob", "pw").status_code == 302  # same address
    client.logout()
    assert attempt(client, "bob", "pw", address="10.0.0.2").status_code == 302


def test_one_address_guessing_many_user_names_is_stopped(client, alice, settings):
    settings.LOGIN_FAILURE_ADDRESS_LIMIT = 8
    for n in range(8):
        attempt(client, f"guess{n}", "nope", address="10.9.9.9")
    assert attempt(client, "alice", "pw", address="10.9.9.9").status_code == 429
    assert attempt(client, "alice", "pw", address="10.0.0.3").status_code == 302


def test_a_successful_login_forgets_earlier_failures(client, alice, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        attempt(client, "alice", "nope")
    assert attempt(client, "alice", "pw").status_code == 302
    client.logout()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert attempt(client, "alice", "nope").status_code == 200
    assert attempt(client, "alice", "pw").status_code == 302


def test_logout_needs_a_post(client, alice):
    client.force_login(alice)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302
