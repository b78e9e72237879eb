"""Fixtures for incident tests: a real Celery worker over Redis against pytest-django's test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import need, restore_roles

BASE_DIR = Path(__file__).resolve().parents[2]
WORKER_QUEUES = "default,notifications,commands"


@pytest.fixture
def roles(transactional_db):
    restore_roles()


# The test server trusts loopback, so a worker's password is never checked: it gives the worker a password in
# its DATABASE_URL that a command could try to steal (tests/incidents/test_worker.py).
WORKER_DB_PASSWORD = "worker-db-password-c0ffee"


def database_url_for_workers() -> str:
    """A URL for the database pytest-django created, for processes started by the tests."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or WORKER_DB_PASSWORD, safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url_for_workers(), "SECRET_KEY": "celery-worker-under-test",
           "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "console.settings", "CELERY_TASK_ALWAYS_EAGER": "false",
           "PYTHONUNBUFFERED": "1", **extra}
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def start_worker(log_path: Path, *, queues: str = WORKER_QUEUES, name: str, extra: list[str] = (),
                 timeout: float = 40.0) -> subprocess.Popen:
    """Start `celery worker` in its own process group and wait until it says it is ready."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "-Q", queues, "--loglevel", "INFO",
         "-n", f"{name}@%h", "--without-gossip", "--without-mingle", *extra],
        cwd=BASE_DIR, env=worker_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        if b" ready." in log_path.read_bytes():
            return proc
        time.sleep(0.1)
    stop_worker(proc)
    raise RuntimeError(f"the worker did not get ready in {timeout} s:\n{log_path.read_text()[-3000:]}")


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def need_worker_services() -> None:
    from django.conf import settings

    need(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
         "a real worker needs PostgreSQL (run through python -m tests.services)")
    need(os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
         "a real worker needs Redis (run through python -m tests.services)")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One `celery -A console worker -Q default,notifications,commands -c 2` for the session."""
    need_worker_services()
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    proc = start_worker(log_path, name=f"tests-{os.getpid()}", extra=["-c", "2"])
    proc.log_path = log_path
    yield proc
    stop_worker(proc)
