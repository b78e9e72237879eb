"""Paging through REAL processes: a Celery worker and beat over Redis, killed and restarted mid-escalation.

Every tier must still be paged exactly once. The processes get a Redis database of their own (and write email
to files), so the session's shared worker cannot take their messages. Minutes pass for them the way they pass for
the engine: the test moves the escalation's due time, which is all the engine reads.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from kombu import Connection

from incidents import paging, tasks
from incidents.models import Escalation, Incident, Page
from tests.factories import make_severities
from tests.incidents.conftest import BASE_DIR, need_worker_services, start_worker, stop_worker, worker_env
from tests.paging_factories import make_person, make_policy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]


def wait_for(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up after {timeout} s waiting for {what}")


@pytest.fixture
def isolated(tmp_path, monkeypatch, postgres, redis):
    """Environment for this test's processes: their own Redis database, email written under tmp_path."""
    need_worker_services()
    broker = re.sub(r"/\d+$", "", os.environ["CELERY_BROKER_URL"]) + "/7"
    with Connection(broker) as conn:  # start from an empty database
        conn.default_channel.client.flushdb()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    for key, value in {"CELERY_BROKER_URL": broker, "ESCALATION_TICK_SECONDS": "1",
                       "EMAIL_BACKEND": "tests.incidents.file_mail.EmailBackend",
                       "TEST_MAIL_DIR": str(mail_dir)}.items():
        monkeypatch.setenv(key, value)

    def enqueue(ids, countdown=None):  # this process's settings still name the shared broker: send to ours
        with Connection(broker) as conn:
            tasks.deliver_pages.apply_async((ids,), countdown=countdown, connection=conn)

    monkeypatch.setattr(paging, "enqueue", enqueue)
    return {"broker": broker, "mail": mail_dir, "tmp": tmp_path}


def start_beat(tmp: Path, n: int) -> subprocess.Popen:
    log = (tmp / f"beat-{n}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "beat", "--loglevel", "INFO",
         "--schedule", str(tmp / f"beat-schedule-{n}")],
        cwd=BASE_DIR, env=worker_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: b"beat: Starting" in (tmp / f"beat-{n}.log").read_bytes() or proc.poll() is not None,
             "beat to start", 30)
    assert proc.poll() is None, (tmp / f"beat-{n}.log").read_text()
    return proc


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: a prefork worker's children die with it
    proc.wait(10)


def emails_to(mail_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in mail_dir.glob("*"):
        for address in re.findall(r"^To: (\S+)$", path.read_text(), flags=re.MULTILINE):
            counts[address] = counts.get(address, 0) + 1
    return counts


def sent(incident, name: str):
    def check():
        return Page.objects.filter(incident=incident, name=name, state=Page.State.SENT).first()
    return check


def make_due(incident) -> None:
    """The tier's minutes have passed."""
    Escalation.objects.filter(incident=incident).update(next_due_at=timezone.now() - timedelta(seconds=1))


def test_every_tier_is_paged_exactly_once_across_worker_and_beat_restarts(isolated, commander):
    sev = make_severities()
    make_policy(sev[0], [(1, [make_person("Ana")]), (1, [make_person("Ben")]), (1, [make_person("Cleo")]),
                         (1, [make_person("Dev")])])
    tmp = isolated["tmp"]
    worker = start_worker(tmp / "worker-1.log", queues="default,notifications", name=f"paging-1-{os.getpid()}")
    beat = start_beat(tmp, 1)
    procs = [worker, beat]
    try:
        incident = Incident.declare(title="Orders stuck", severity=sev[0], by=commander)
        wait_for(sent(incident, "Ana"), "tier 1 to be sent")

        # Both killed mid-escalation; tier 2 falls due while nothing runs.
        kill(worker)
        kill(beat)
        make_due(incident)
        time.sleep(1.5)
        assert not Page.objects.filter(incident=incident, name="Ben").exists()
        worker = start_worker(tmp / "worker-2.log", queues="default,notifications", name=f"paging-2-{os.getpid()}")
        beat = start_beat(tmp, 2)
        procs = [worker, beat]
        wait_for(sent(incident, "Ben"), "tier 2 after the restart")

        # The worker alone killed: beat's ticks wait in the broker (or expire); tier 3 fires once it is back.
        kill(worker)
        make_due(incident)
        time.sleep(2.5)
        worker = start_worker(tmp / "worker-3.log", queues="default,notifications", name=f"paging-3-{os.getpid()}")
        procs = [worker, beat]
        wait_for(sent(incident, "Cleo"), "tier 3 after the worker came back")

        # Beat alone killed: nothing fires until it is back.
        kill(beat)
        make_due(incident)
        time.sleep(1.5)
        assert not Page.objects.filter(incident=incident, name="Dev").exists()
        beat = start_beat(tmp, 3)
        procs = [worker, beat]
        wait_for(sent(incident, "Dev"), "tier 4 after beat came back")
        time.sleep(3)  # more ticks: nothing more to page
    except AssertionError as exc:
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2500:]}" for p in sorted(tmp.glob("*.log")))
        raise AssertionError(f"{exc}\n{logs}") from None
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop_worker(proc)

    pages = list(Page.objects.filter(incident=incident).order_by("tier").values_list("name", "tier", "state"))
    assert pages == [("Ana", 0, "sent"), ("Ben", 1, "sent"), ("Cleo", 2, "sent"), ("Dev", 3, "sent")]
    assert emails_to(isolated["mail"]) == {"ana@example.com": 1, "ben@example.com": 1, "cleo@example.com": 1,
                                           "dev@example.com": 1}
