"""Postmortem figures: drafting from a big incident, and the metrics page over many incidents.

    .venv/bin/python -m tests.services -- .venv/bin/python bench/bench_postmortem.py

1. Drafting: an incident with 5,000 timeline events and 200 command runs (4 KB of output each, a third failed),
   a runbook of 12 steps. `incidents.postmortem.draft()` and `Postmortem.generate()` (draft + store + sections)
   timed in-process, best and median of BENCH_REPEAT; queries counted at 500 and 5,000 events (must be equal).
   Target: under 300 ms and a constant number of queries.
2. Metrics: 10,000 incidents over 90 days, 4 severities, 8 services. `metrics.report()` in-process, and
   /metrics/ through gunicorn (one connection, so p50 is a page's own latency) beside the trivial view, with the
   postmortem page and its Markdown export. Target: /metrics/ under 300 ms.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import Server, django_setup, fresh_database, load, print_table  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
EVENTS, RUNS, INCIDENTS = 5_000, 200, 10_000
TARGET_MS = 300


def timed(fn, repeat: int = REPEAT) -> tuple[float, float]:
    """(best, median) milliseconds."""
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        took.append((time.perf_counter() - started) * 1000)
    return min(took), statistics.median(took)


def make_big_incident(user, levels):
    from django.db import transaction
    from django.utils import timezone

    from incidents.models import CommandRun, ExecutionTarget, Incident, TimelineEvent
    from runbooks.models import Command, Runbook, Step

    with transaction.atomic():
        runbook = Runbook.objects.create(title="Orders queue backlog", body_markdown="# Queue")
        for order in range(12):
            step = Step.objects.create(runbook=runbook, order=order, phase=["triage", "mitigation"][order % 2],
                                       text=f"Step {order}: check the consumers")
            Command.objects.create(step=step, text=f"kubectl get pods -l app=consumer-{order}")
        runbook.record_version(note="bench")
    incident = Incident.declare(title="Orders stuck", severity=levels[0], by=user, commander=user,
                                runbooks=[runbook], impact_started_at=timezone.now() - timedelta(hours=3))
    items = list(incident.checklist.order_by("order"))
    for item in items[:6]:
        item.tick(by=user)
    for item in items[6:9]:
        item.skip(by=user, reason="not needed this time")
    target = ExecutionTarget.objects.create(name="bench", is_default=True)
    now = timezone.now()
    output = "".join(f"consumer-{n} 1/1 Running 0 3h\n" for n in range(130))  # ~4 KB
    CommandRun.objects.bulk_create([
        CommandRun(incident=incident, checklist_item=items[n % 12] if n % 7 else None, template=items[n % 12]
                   .commands[0]["text"] if n % 7 else "kubectl delete pod consumer-0", script=f"kubectl get pods #{n}",
                   target=target, queue="commands", state="failed" if n % 3 == 0 else "succeeded",
                   exit_code=1 if n % 3 == 0 else 0, output=output, requested_by=user,
                   created_at=now - timedelta(minutes=RUNS - n), finished_at=now - timedelta(minutes=RUNS - n))
        for n in range(RUNS)])
    kinds = ["checklist", "note", "command", "command", "status", "notification", "note", "checklist"]
    TimelineEvent.objects.bulk_create([
        TimelineEvent(incident=incident, kind=kinds[n % len(kinds)], actor=user, message=f"Event {n}",
                      data={"important": n % 40 == 1} if kinds[n % len(kinds)] == "note" else {},
                      at=now - timedelta(seconds=EVENTS - n))
        for n in range(EVENTS - incident.timeline.count())], batch_size=2_000)
    return incident


def make_history(user, levels) -> None:
    from django.utils import timezone

    from incidents.models import Incident, Status
    from runbooks.models import Service

    services = [Service.objects.create(name=f"service-{n}") for n in range(8)]
    now = timezone.now()
    rows = []
    for n in range(INCIDENTS):
        declared = now - timedelta(minutes=n * 12.9 + 30)  # 10,000 over ~90 days
        impact = declared - timedelta(minutes=n % 5)
        rows.append(Incident(
            title=f"History {n}", severity=levels[n % 4], service=services[n % 8], status=Status.CLOSED,
            commander=user, declared_at=declared, impact_started_at=impact,
            acknowledged_at=impact + timedelta(minutes=2 + n % 37),
            mitigated_at=impact + timedelta(minutes=20 + n % 91),
            resolved_at=impact + timedelta(minutes=40 + n % 233), closed_at=impact + timedelta(minutes=300),
            milestone_edits={"impact_started": {"at": impact.isoformat()}} if n % 97 == 0 else {}))
    Incident.objects.bulk_create(rows, batch_size=2_000)


def main() -> None:
    with fresh_database():
        django_setup()
        from django.contrib.auth.models import Group, User
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from accounts.roles import COMMANDER
        from incidents import metrics
        from incidents.models import Incident, Postmortem, TimelineEvent
        from incidents.postmortem import draft
        from runbooks.models import SeverityLevel

        started = time.monotonic()
        user = User.objects.create_user("bench-commander", password="pw", first_name="Bench")
        user.groups.add(Group.objects.get(name=COMMANDER))
        levels = [SeverityLevel.objects.create(name=f"SEV{n + 1}", rank=n, response_minutes=[15, 30, 240, None][n])
                  for n in range(4)]
        incident = make_big_incident(user, levels)
        make_history(user, levels)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"data: {TimelineEvent.objects.filter(incident=incident).count():,} events and "
              f"{incident.command_runs.count()} runs on the drafted incident; {Incident.objects.count():,} incidents; "
              f"made in {time.monotonic() - started:.0f} s", flush=True)

        def fresh():
            return Incident.objects.select_related("severity", "service").get(pk=incident.pk)

        # Queries at two sizes: 500 events (a copy of the incident's first 500) and the full 5,000.
        small = Incident.declare(title="Small", severity=levels[0], by=user, runbooks=[])
        TimelineEvent.objects.bulk_create([TimelineEvent(incident=small, kind="note", message=f"n{n}")
                                           for n in range(499)])
        with CaptureQueriesContext(connection) as q_small:
            draft(Incident.objects.select_related("severity", "service").get(pk=small.pk))
        with CaptureQueriesContext(connection) as q_large:
            facts = draft(fresh())
        best, median = timed(lambda: draft(fresh()))
        g_best, g_median = timed(lambda: Postmortem.generate(fresh(), by=user), repeat=max(3, REPEAT // 3))
        print(f"\ndraft(): {len(facts['timeline'])} key timeline entries from {facts['counts']['events']:,} events "
              f"and {facts['counts']['runs']} runs")
        print(f"  draft()               best {best:6.1f} ms, median {median:6.1f} ms   "
              f"({'meets' if median < TARGET_MS else 'MISSES'} the {TARGET_MS} ms target)")
        print(f"  Postmortem.generate() best {g_best:6.1f} ms, median {g_median:6.1f} ms   (draft + store + sections)")
        print(f"  queries: {len(q_small)} at 500 events, {len(q_large)} at 5,000 "
              f"({'constant' if len(q_small) == len(q_large) else 'NOT constant'})")

        filters = metrics.parse_filters({})
        report = metrics.report(filters)
        m_best, m_median = timed(lambda: metrics.report(filters))
        with CaptureQueriesContext(connection) as q_metrics:
            metrics.report(filters)
        print(f"\nmetrics.report(): {len(report.rows):,} incidents, {len(report.periods)} weeks, "
              f"{len(report.groups)} severities")
        print(f"  best {m_best:6.1f} ms, median {m_median:6.1f} ms, {len(q_metrics)} queries")

        with Server(workers=2) as server:
            cookie = server.login("bench-commander", "pw")
            pages = [("trivial", "/bench/trivial/", None), ("metrics (10,000 incidents)", "/metrics/", cookie),
                     ("metrics per service", "/metrics/?by=service", cookie),
                     ("postmortem page", f"/incidents/{incident.pk}/postmortem/", cookie),
                     ("postmortem.md", f"/incidents/{incident.pk}/postmortem.md", cookie)]
            for _, path, with_cookie in pages:
                status, _, _ = server.request("GET", path, headers={"Cookie": with_cookie} if with_cookie else {})
                if status != 200:
                    raise SystemExit(f"{path}: HTTP {status}")
                load(server, path, cookie=with_cookie, seconds=1, concurrency=2)  # warm both workers
            rows = [load(server, path, cookie=with_cookie, name=name, seconds=SECONDS, concurrency=1)
                    for name, path, with_cookie in pages]
            # The page is kept until an incident in its range changes (incidents/pagecache.py): what a read
            # right after a change costs, from ranges not asked for before.
            fresh = []
            for days in range(1, 8):
                began = time.perf_counter()
                status, _, _ = server.request("GET", f"/metrics/?start={date.today() - timedelta(days=89 + days)}",
                                              headers={"Cookie": cookie})
                fresh.append((time.perf_counter() - began) * 1000)
    print_table(rows, title=f"pages (gunicorn, 2 sync workers, 1 connection: p50 is one page's latency; "
                            f"{SECONDS:.0f} s each)")
    print(f"machine: {os.cpu_count()} CPUs, load average {', '.join(f'{n:.2f}' for n in os.getloadavg())}")
    print(f"/metrics/ rendered afresh (a change in its range, or a new range): median {statistics.median(fresh):.0f} ms"
          f" of {len(fresh)}")
    page = next(r for r in rows if r.name.startswith("metrics ("))
    print(f"/metrics/: p50 {page.p50_ms:.0f} ms ({'meets' if page.p50_ms < TARGET_MS else 'MISSES'} the "
          f"{TARGET_MS} ms target)")


if __name__ == "__main__":
    main()
