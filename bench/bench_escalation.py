"""1,000 open incidents escalating at once, on PostgreSQL: the engine's tick, and how late the pages go out.

    .venv/bin/python -m tests.services -- .venv/bin/python bench/bench_escalation.py

Every incident's tier 2 (one person by email, one channel by chat webhook to a local HTTP server) falls due at
the same instant. Then:

1. tick: one `paging.tick()` (what beat runs every ESCALATION_TICK_SECONDS) claims every due escalation with
   FOR UPDATE SKIP LOCKED, writes 2,000 pages and moves 1,000 escalations. Target: under 1 s.
2. pages: a real Celery worker (-c 2, over Redis) delivers the outbox; lateness = sent_at - due time, for
   every page. Target: p99 within 5 s of due (the tick itself runs at most ESCALATION_TICK_SECONDS after
   the due time; add that to the figure for the worst case).
3. an idle tick (nothing due) and the trivial view, for scale on a busy machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Server, django_setup, fresh_database, load, print_table  # noqa: E402

INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", "1000"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Hook(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def start_worker(log: Path) -> subprocess.Popen:
    env = {**os.environ, "WEBHOOK_ALLOW_LOOPBACK": "true",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "-Q", "notifications", "-c", "2",
         "--loglevel", "INFO", "-n", f"bench-esc-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the worker exited:\n{log.read_text()[-2000:]}")
        if b" ready." in log.read_bytes():
            return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the worker did not get ready in 60 s")


def main() -> None:
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with fresh_database():
        os.environ["WEBHOOK_ALLOW_LOOPBACK"] = "true"
        django_setup()
        from django.contrib.auth.models import User
        from django.db import connection
        from django.utils import timezone

        from incidents import paging
        from incidents.models import Escalation, Incident, Page
        from runbooks.models import Contact, EscalationPolicy, EscalationTier, SeverityLevel

        User.objects.create_superuser("ada", "ada@example.com", "pw")
        sev = SeverityLevel.objects.create(name="SEV1", rank=0, response_minutes=5)
        first = Contact.objects.create(name="First", email="first@example.com")
        second = Contact.objects.create(name="Second", email="second@example.com")
        channel = Contact.objects.create(name="#ops", kind="channel", channel="#ops",
                                         webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/hook")
        policy = EscalationPolicy.objects.create(name="SEV1 escalation", severity=sev)
        EscalationTier.objects.create(policy=policy, order=0, delay_minutes=5).contacts.set([first])
        EscalationTier.objects.create(policy=policy, order=1, delay_minutes=10).contacts.set([second, channel])

        # 1,000 open incidents whose tier 1 went out five minutes ago (set up in bulk: the declares are not
        # what is measured).
        began = time.monotonic()
        snapshot = policy.snapshot()
        incidents = Incident.objects.bulk_create(
            [Incident(title=f"Incident {n}", severity=sev) for n in range(INCIDENTS)])
        Escalation.objects.bulk_create([
            Escalation(incident=i, policy=policy, snapshot=snapshot, next_tier=1, next_due_at=timezone.now())
            for i in incidents])
        print(f"{INCIDENTS} open incidents set up in {time.monotonic() - began:.1f} s", flush=True)

        log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-escalation-worker-{os.getpid()}.log"
        worker = start_worker(log)
        try:
            due = timezone.now()
            Escalation.objects.update(next_due_at=due)
            connection.close()
            began = time.monotonic()
            result = paging.tick(now=due)
            tick_seconds = time.monotonic() - began
            expected = 2 * INCIDENTS
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                done = Page.objects.filter(tier=1, state__in=[Page.State.SENT, Page.State.FAILED]).count()
                if done >= expected:
                    break
                time.sleep(0.2)
            rows = list(Page.objects.filter(tier=1).values_list("state", "sent_at", "due_at"))
            began = time.monotonic()
            paging.tick()
            idle_seconds = time.monotonic() - began
        finally:
            worker.terminate()
            worker.wait(30)
        late = [(sent - due_at).total_seconds() for state, sent, due_at in rows if state == "sent" and sent]
        failed = sum(1 for state, _, _ in rows if state != "sent")

        with Server(workers=2) as server:
            trivial = load(server, "/bench/trivial/", name="trivial", seconds=3, concurrency=4)

    print()
    print(f"tick with {result.escalations} escalations due: {tick_seconds * 1000:.0f} ms "
          f"({result.pages} pages written)   target < 1000 ms   {'OK' if tick_seconds < 1 else 'MISSED'}")
    print(f"idle tick (nothing due): {idle_seconds * 1000:.1f} ms")
    if late:
        p99 = pct(late, 99)
        print(f"pages sent: {len(late)} of {expected} ({failed} not sent; chat posts received {Hook.received})")
        print(f"lateness after due: p50 {statistics.median(late):.2f} s, p99 {p99:.2f} s, max {max(late):.2f} s"
              f"   target p99 < 5 s   {'OK' if p99 < 5 else 'MISSED'}")
    else:
        print(f"no page was sent; worker log: {log}")
    print_table([trivial], title="for scale on this machine")
    with open("/proc/loadavg") as f:
        print(f"load average: {f.read().strip()}")
    hook.shutdown()


if __name__ == "__main__":
    main()
