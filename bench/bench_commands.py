"""Command runs through a real Celery worker over Redis: how fast a run starts, how fast its output shows.

    .venv/bin/python -m tests.services -- .venv/bin/python bench/bench_commands.py

1. dispatch → process start: time from CommandRun.request (the person pressing "Run it") to the run's
   started_at, over BENCH_RUNS runs of `true` one after another. Target: p50 < 150 ms.
2. output → page: a command prints `date +%s.%N` timestamps; the runs panel fragment URL is polled through
   gunicorn as the page does (but as fast as it answers), and each line's latency is the time it first
   appears there minus the time it was printed. Target: < 1 s (the page itself polls every second, so a
   viewer sees a line at most this + 1 s after it was printed).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Server, django_setup, fresh_database  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "50"))
LINES = 12


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def start_worker(log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "-Q", "default,notifications,commands",
         "-c", "2", "--loglevel", "INFO", "-n", f"bench-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env={**os.environ}, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the worker exited:\n{log.read_text()[-2000:]}")
        if b" ready." in log.read_bytes():
            return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the worker did not get ready in 60 s")


def wait_finished(run, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return run
        time.sleep(0.01)
    raise SystemExit(f"run #{run.pk} did not finish in {timeout} s (state {run.state})")


def main() -> int:
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        raise SystemExit("this benchmark needs Redis: run it under `python -m tests.services --`")
    import tempfile

    with fresh_database():
        django_setup()
        from django.contrib.auth.models import Group, User

        from accounts.roles import COMMANDER
        from incidents.models import CommandRun, ExecutionTarget, Incident
        from tests.factories import make_runbook, make_severities

        user = User.objects.create_user("cora", password="pw")
        user.groups.add(Group.objects.get(name=COMMANDER))
        target = ExecutionTarget.objects.create(name="local", allowed_programs=["true", "date", "sleep", "seq"],
                                                is_default=True, timeout_seconds=60)
        runbook = make_runbook("Bench", steps=[("investigation", "Quick", ["true"]), (
            "investigation", "Clock", [f"for i in $(seq {LINES}); do date +%s.%N; sleep 0.37; done"])])
        incident = Incident.declare(title="Bench", severity=make_severities()[2], by=user, runbooks=[runbook])
        quick, clock = incident.checklist.order_by("order")

        log = Path(tempfile.mkdtemp(prefix="bench-worker-")) / "worker.log"
        worker = start_worker(log)
        try:
            for _ in range(3):  # warm the worker's connections and imports
                wait_finished(CommandRun.request(item=quick, index=0, values={}, by=user, target=target))
            starts = []
            for _ in range(RUNS):
                t0 = time.time()
                run = wait_finished(CommandRun.request(item=quick, index=0, values={}, by=user, target=target))
                assert run.state == "succeeded", (run.state, run.reason)
                starts.append((run.started_at.timestamp() - t0) * 1000)

            with Server(workers=2) as server:
                cookie = server.login("cora", "pw")
                url = f"/incidents/{incident.pk}/runs/"
                headers = {"Cookie": cookie, "HX-Request": "true"}
                run = CommandRun.request(item=clock, index=0, values={}, by=user, target=target)
                seen: dict[str, float] = {}
                polls = 0
                deadline = time.monotonic() + LINES * 0.37 + 15
                while time.monotonic() < deadline:
                    status, _, body = server.request("GET", url, headers=headers)
                    now = time.time()
                    polls += 1
                    if status != 200:
                        raise SystemExit(f"the panel answered HTTP {status}")
                    for stamp in re.findall(rb"(?:^|>)(\d{10}\.\d+)$", body, re.M):
                        seen.setdefault(stamp.decode(), now)
                    if len(seen) >= LINES and b"every 1s" not in body:
                        break
                wait_finished(run)
                if run.state != "succeeded" or not seen:
                    raise SystemExit(f"the clock command {run.state}: {run.reason}")
            visible = [(at - float(stamp)) * 1000 for stamp, at in seen.items()]
        finally:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()

    print(f"{'measure':<34}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}  target")
    print(f"{'dispatch → process start':<34}{len(starts):>5}{pct(starts, 50):>10.1f}{pct(starts, 95):>10.1f}"
          f"{max(starts):>10.1f}  p50 < 150 ms")
    print(f"{'output line → panel fragment':<34}{len(visible):>5}{pct(visible, 50):>10.1f}{pct(visible, 95):>10.1f}"
          f"{max(visible):>10.1f}  < 1000 ms")
    print(f"(panel polled {polls} times through gunicorn; mean {statistics.mean(starts):.1f} ms to start)")
    ok = pct(starts, 50) < 150 and max(visible) < 1000 and len(visible) == LINES
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
