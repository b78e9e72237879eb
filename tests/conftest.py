"""Shared fixtures: a user for each role, an HTTPS client, the CI rule on skips, true markers, real services.

The suite runs production's settings (tests/settings.py): HTTPS, DEBUG off, manifest static files, the user memo,
and `cached_db` sessions on Redis when tests/services.py gives CACHE_URL. What a test needs otherwise it sets.
"""

from __future__ import annotations

import contextlib
import os
import signal

import pytest
from django.test import Client

from accounts.roles import ADMIN, COMMANDER, RESPONDER, VIEWER

CI = os.environ.get("CI", "").lower() == "true"
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + ORM calls inside browser tests

# Fixtures that need a service beyond SQLite and process memory: a test using one is `integration`, and an
# `integration` test uses one (pytest_runtest_setup below keeps the marker true).
SERVICE_FIXTURES = frozenset({"postgres", "redis", "celery_worker", "worker_processes"})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true nothing may be skipped for want of a service, a browser or ../shared."""
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI, which is a failure: {reason}"


def pytest_runtest_setup(item):
    """`integration` marks exactly the tests that need PostgreSQL, Redis or a worker (SERVICE_FIXTURES)."""
    needs = sorted(SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())))
    marked = item.get_closest_marker("integration") is not None
    if needs and not marked:
        pytest.fail(f"uses {', '.join(needs)} but is not marked integration: add @pytest.mark.integration",
                    pytrace=False)
    if marked and not needs:
        pytest.fail(f"is marked integration but uses none of {', '.join(sorted(SERVICE_FIXTURES))}: "
                    "take the marker off, or ask for the service it needs", pytrace=False)


@contextlib.contextmanager
def gives_up_after(seconds: int, what: str):
    """Fail instead of hanging when `what` does not finish in `seconds`: a guard against a hang (a loop that never
    ends, a backtracking regex), set far above any honest duration. How fast things are is for bench/."""
    def hung(signum, frame):
        raise AssertionError(f"{what} did not finish in {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


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


@pytest.fixture
def redis():
    """The Redis tests/services.py started (the broker and the shared cache), as a URL."""
    url = os.environ.get("REDIS_URL", "")
    need(url.startswith("redis://"), "these tests need Redis (run them through make test)")
    return url


@pytest.fixture
def worker_processes():
    """For a test that starts Celery workers of its own (make run's): a list to put them in (anything with
    kill_everything()), each stopped at the end whatever happened."""
    started: list = []
    yield started
    for processes in reversed(started):
        processes.kill_everything()


class HttpsClient(Client):
    """A test client whose every request arrives over HTTPS, as browsers reach the console in production (gunicorn
    gives wsgi.url_scheme "https" for what its trusted proxy forwarded): plain HTTP is redirected there."""

    def generic(self, method, path, *args, secure=True, **kwargs):
        return super().generic(method, path, *args, secure=True, **kwargs)


def https_client(**options) -> Client:
    return HttpsClient(**options)


@pytest.fixture
def client():
    """pytest-django's client, over HTTPS: production redirects plain HTTP and sends cookies only over HTTPS."""
    return https_client()


@pytest.fixture(scope="session", autouse=True)
def _collected_static(tmp_path_factory):
    """Static files collected once, as the image's collectstatic does: pages load them from the manifest."""
    from django.core.management import call_command
    from django.test import override_settings

    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static")):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Kept pages and remembered users live in process memory, sessions and login failures in the shared cache
    (Redis under make test): each test starts without another's."""
    from django.core.cache import caches

    from accounts.memo import memo
    from incidents import pagecache

    caches["pages"].clear()
    caches["default"].clear()
    pagecache.stats.clear()
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


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin_client, over HTTPS as `client` is."""
    client.force_login(admin_user)
    return client
