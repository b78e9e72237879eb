"""Is the per-process user memo (accounts/memo.py) worth keeping? The same pages with it on and off.

Two gunicorn servers on the same data, both with sessions as production keeps them (`cached_db` on Redis, so
finding the session costs a Redis read, not a query): one with AUTH_MEMO_SECONDS=10 (the default), one with 0
(every request finds the session, the user and their permissions). Measured in interleaved rounds, median round
printed, beside the trivial view: the unchanged poll (what every open incident page asks every second), a kept
incident page and the kept dashboard.

    python -m tests.services -- .venv/bin/python bench/bench_memo.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import Server, django_setup, fresh_database, load, print_table  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def make_data() -> tuple[int, int, int]:
    """(incident pk, revision, runs revision) of an open incident with a runbook, among 20 open ones."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction

    from accounts.roles import COMMANDER
    from incidents.models import Incident
    from runbooks.models import Runbook, SeverityLevel, Step

    user = User.objects.create_user("bench-commander", password="pw", first_name="Bench", last_name="Commander")
    user.groups.add(Group.objects.get(name=COMMANDER))
    level = SeverityLevel.objects.create(name="SEV2", rank=1, response_minutes=30, description="Major")
    with transaction.atomic():
        runbook = Runbook.objects.create(title="Checkout latency high", body_markdown="# Checkout latency")
        for order, text in enumerate(["Confirm p99 latency", "List the pods", "Restart the deployment"]):
            Step.objects.create(runbook=runbook, order=order, phase="investigation", text=text)
        runbook.record_version(note="bench")
    incidents = [Incident.declare(title=f"Open incident {n}", severity=level, by=user, commander=user,
                                  runbooks=[runbook]) for n in range(20)]
    page = Incident.objects.get(pk=incidents[0].pk)
    return page.pk, page.revision, page.runs_revision


def main() -> None:
    if not os.environ.get("CACHE_URL", "").startswith("redis://"):
        raise SystemExit("this benchmark needs Redis for cached_db sessions: run it under python -m tests.services")
    os.environ["SESSION_STORE"] = "cached_db"
    with fresh_database():
        django_setup()
        pk, revision, runs = make_data()
        poll = f"/incidents/{pk}/poll/?rev={revision}&runs={runs}&after=0"
        servers = {}
        os.environ["AUTH_MEMO_SECONDS"] = "10"
        with Server(workers=2) as memo_on:
            servers["memo on"] = memo_on
            os.environ["AUTH_MEMO_SECONDS"] = "0"
            with Server(workers=2) as memo_off:
                servers["memo off"] = memo_off
                pages = [("trivial", memo_on, "/bench/trivial/", False)]
                for label, server in servers.items():
                    cookie = server.login("bench-commander", "pw")
                    for path, expected in ((poll, 204), (f"/incidents/{pk}/", 200), ("/", 200)):
                        status, _, _ = server.request("GET", path, headers={"Cookie": cookie})
                        if status != expected:
                            raise SystemExit(f"{label} {path}: HTTP {status}, expected {expected}")
                    server.cookie = cookie
                measured = (("unchanged poll", poll), ("incident page", f"/incidents/{pk}/"), ("dashboard", "/"))
                for page, path in measured:
                    for label, server in servers.items():
                        pages.append((f"{page}, {label}", server, path, True))
                for name, server, path, with_cookie in pages:  # warm every worker
                    load(server, path, cookie=server.cookie if with_cookie else None, name=name, seconds=1)
                runs_by_name: dict[str, list] = {name: [] for name, *_ in pages}
                for _ in range(ROUNDS):
                    for name, server, path, with_cookie in pages:
                        runs_by_name[name].append(load(server, path, cookie=server.cookie if with_cookie else None,
                                                       name=name, seconds=SECONDS))
    rows = [sorted(found, key=lambda row: row.rps)[len(found) // 2] for found in runs_by_name.values()]
    print_table(rows, title=f"user memo on (AUTH_MEMO_SECONDS=10) and off (0), cached_db sessions on Redis "
                            f"(gunicorn, 2 sync workers each, 8 connections; median of {ROUNDS} rounds of "
                            f"{SECONDS:.0f} s)")
    print(f"machine: {os.cpu_count()} CPUs, load average {', '.join(f'{n:.2f}' for n in os.getloadavg())}")
    by_name = {row.name: row for row in rows}
    for page in ("unchanged poll", "incident page", "dashboard"):
        on, off = by_name[f"{page}, memo on"], by_name[f"{page}, memo off"]
        print(f"{page}: memo off serves {off.rps / on.rps:.0%} of the requests/s with it on "
              f"(p50 {on.p50_ms:.2f} -> {off.p50_ms:.2f} ms)")


if __name__ == "__main__":
    main()
