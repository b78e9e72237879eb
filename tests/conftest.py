"""Shared fixtures: a user for each role, the CI rule on skips, and real-service helpers."""

from __future__ import annotations

import os

import pytest

from accounts.roles import ADMIN, COMMANDER, RESPONDER, VIEWER

CI = os.environ.get("CI", "").lower() == "true"
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + ORM calls inside browser tests


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true nothing may be skipped for want of a service, a browser or ../shared."""
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI, which is a failure: {reason}"


def need(condition: bool, reason: str) -> None:
    """Skip when something outside the project is missing (a failure under CI)."""
    if not condition:
        if CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)


@pytest.fixture
def postgres(settings):
    """Only for tests that need PostgreSQL's own behaviour (row locks, full-text search)."""
    from django.db import connection

    need(connection.vendor == "postgresql", "these tests need PostgreSQL (run them through make test)")
    return connection


TEST_RUN_USER = "console-cmd-test"  # made by tests/services.py (or here) when the tests run as root


def command_run_user() -> str | None:
    """An unprivileged user commands can run as in these tests, made when missing and the tests are root."""
    import pwd
    import subprocess

    name = os.environ.get("COMMAND_RUN_USER") or TEST_RUN_USER
    try:
        pwd.getpwnam(name)
        return name
    except KeyError:
        pass
    if os.geteuid() != 0:
        return None
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                    "/usr/sbin/nologin", name], check=False, capture_output=True)
    try:
        pwd.getpwnam(name)
        return name
    except KeyError:
        return None


@pytest.fixture(scope="session")
def run_user() -> str | None:
    return command_run_user()


@pytest.fixture(autouse=True)
def _commands_run_apart(settings, run_user):
    """In-process command runs (tasks called as functions) run as the test user when the tests can switch
    users; otherwise, as the tests' own user, with that risk accepted."""
    if run_user and os.geteuid() == 0:
        settings.COMMAND_RUN_USER, settings.COMMAND_ALLOW_SAME_USER = run_user, False
    else:
        settings.COMMAND_RUN_USER, settings.COMMAND_ALLOW_SAME_USER = "", True


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_process_memory():
    """Rendered pages and remembered users live in process memory: each test starts without another's."""
    from django.core.cache import caches

    from accounts.memo import memo

    caches["fragments"].clear()
    memo.clear()


def restore_roles() -> None:
    """Put back the role groups a transactional test's flush removed (as their data migration made them)."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from accounts.roles import ROLE_NAMES, ensure_roles

    if Group.objects.filter(name__in=ROLE_NAMES).count() != len(ROLE_NAMES):
        ensure_roles(apps, migrating=False)


def make_user(username: str, role: str | None, **extra):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username=username, password="pw", email=f"{username}@example.com", **extra)
    if role:
        restore_roles()
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def viewer(db):
    return make_user("vera", VIEWER)


@pytest.fixture
def responder(db):
    return make_user("rosa", RESPONDER)


@pytest.fixture
def commander(db):
    return make_user("cora", COMMANDER, first_name="Cora", last_name="Commander")


@pytest.fixture
def commander2(db):
    return make_user("carl", COMMANDER)


@pytest.fixture
def admin_user(db):
    return make_user("ada", ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def users(viewer, responder, commander, admin_user):
    return {"viewer": viewer, "responder": responder, "commander": commander, "admin": admin_user}


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login
