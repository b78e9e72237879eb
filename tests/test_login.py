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


def test_one_address_guessing_the_passwords_of_many_accounts_is_slowed_down(client, alice, settings):
    settings.LOGIN_FAILURE_ADDRESS_LIMIT = 8
    for n in range(8):
        make_user(f"user{n}", None)
        attempt(client, f"user{n}", "nope", address="10.9.9.9")
    assert attempt(client, "alice", "pw", address="10.9.9.9").status_code == 429
    assert attempt(client, "alice", "pw", address="10.0.0.3").status_code == 302


def test_names_without_an_account_never_slow_down_the_real_users_at_that_address(client, alice, settings):
    settings.LOGIN_FAILURE_ADDRESS_LIMIT = 8
    for n in range(30):
        attempt(client, f"guess{n}", "nope", address="10.9.9.9")
    assert attempt(client, "alice", "pw", address="10.9.9.9").status_code == 302


def test_the_name_is_keyed_as_the_form_reads_it_nfkc_and_case_folded(client, alice, settings):
    spellings = ["ＡＬＩＣＥ", "Alice", "ALICE", "ａlice", "aLiCe"]  # full-width letters are NFKC "alice"
    for name in spellings[: settings.LOGIN_FAILURE_LIMIT]:
        attempt(client, name, "nope")
    assert attempt(client, "alice", "pw").status_code == 429


def test_after_the_delay_the_right_password_gets_in_and_the_delays_grow(client, alice, settings):
    import time_machine

    with time_machine.travel(1_900_000_000, tick=False) as clock:
        for _ in range(settings.LOGIN_FAILURE_LIMIT):
            attempt(client, "alice", "nope")
        waited = attempt(client, "alice", "pw")
        assert waited.status_code == 429 and waited["Retry-After"] == "1"
        clock.shift(1.1)
        assert attempt(client, "alice", "nope").status_code == 200  # a sixth failure: now 2 s
        assert attempt(client, "alice", "pw")["Retry-After"] == "2"
        clock.shift(2.1)
        attempt(client, "alice", "nope")
        assert attempt(client, "alice", "pw")["Retry-After"] == "4"
        clock.shift(4.1)
        assert attempt(client, "alice", "pw").status_code == 302


def test_the_delay_never_grows_past_its_ceiling(client, alice, settings):
    import time_machine

    settings.LOGIN_DELAY_MAX_SECONDS = 10
    with time_machine.travel(1_900_000_000, tick=False) as clock:
        for _ in range(40):
            attempt(client, "alice", "nope")
            clock.shift(11)
        attempt(client, "alice", "nope")
        assert int(attempt(client, "alice", "pw")["Retry-After"]) == 10
        clock.shift(10.5)
        assert attempt(client, "alice", "pw").status_code == 302


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(client, alice, settings):
    settings.LOGIN_FAILURE_ADDRESS_LIMIT = 3
    for n in range(3):
        make_user(f"user{n}", None)
    # From an untrusted peer, X-Forwarded-For is ignored: every guess counts against the peer itself.
    for n in range(3):
        client.post(reverse("login"), {"username": f"user{n}", "password": "nope"}, REMOTE_ADDR="203.0.113.5",
                    HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert attempt(client, "alice", "pw", address="203.0.113.5").status_code == 429
    # Behind the trusted proxy, the client it forwarded for is the one counted.
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    for n in range(3):
        client.post(reverse("login"), {"username": f"user{n}", "password": "nope"}, REMOTE_ADDR="10.1.1.1",
                    HTTP_X_FORWARDED_FOR="198.51.100.77, 10.2.2.2")
    blocked = client.post(reverse("login"), {"username": "alice", "password": "pw"}, REMOTE_ADDR="10.1.1.1",
                          HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert blocked.status_code == 429
    other = client.post(reverse("login"), {"username": "alice", "password": "pw"}, REMOTE_ADDR="10.1.1.1",
                        HTTP_X_FORWARDED_FOR="198.51.100.78")
    assert other.status_code == 302


def test_the_admin_login_is_the_throttled_login(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


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
