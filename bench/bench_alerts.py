"""Alert ingest figures: alerts/s through POST /api/v1/alerts/alertmanager/ on PostgreSQL, 2 gunicorn workers.

Rows (beside the trivial view, the ceiling for any request):
- repeats, 1 alert: the same delivery again and again (a known fingerprint: count and last-seen bumped);
- repeats, 10 alerts: a group of ten known fingerprints per delivery;
- new groups: every delivery a new group key and fingerprint, so each declares an incident (severity mapping,
  runbook matching among 200 runbooks, one attached with its checklist, timeline events).
Targets: >= 500 alerts/s for repeats of known fingerprints, >= 100 alerts/s for new groups declaring incidents.
Every delivery also writes its inbox line. The rate limit stays on (counted in Redis) with a limit no run reaches.

    .venv/bin/python -m tests.services -- .venv/bin/python bench/bench_alerts.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import Server, django_setup, fresh_database, load, parse_wrk, wrk_path  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
RUNBOOKS = 200
PATH = "/api/v1/alerts/alertmanager/"

ALERT = {
    "status": "firing",
    "labels": {"alertname": "CheckoutLatencyHigh", "severity": "warning", "service": "checkout-api",
               "instance": "checkout-{n}:9100", "job": "checkout"},
    "annotations": {"summary": "p99 latency above 2s on checkout-{n}", "description": "for 5 minutes",
                    "runbook_url": "https://wiki.example.com/checkout-latency"},
    "startsAt": "2026-11-30T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus:9090/graph?g0.expr=histogram_quantile",
    "fingerprint": "fp-{n}",
}


def payload(group: str, alerts: int) -> dict:
    items = [json.loads(json.dumps(ALERT).replace("{n}", f"{group}-{i}")) for i in range(alerts)]
    return {"version": "4", "groupKey": f'{{}}:{{alertname="CheckoutLatencyHigh",group="{group}"}}',
            "truncatedAlerts": 0, "status": "firing", "receiver": "console",
            "groupLabels": {"alertname": "CheckoutLatencyHigh"},
            "commonLabels": {"alertname": "CheckoutLatencyHigh", "severity": "warning", "service": "checkout-api"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": items}


def make_data() -> str:
    from django.db import connection, transaction

    from incidents.models import Integration
    from runbooks.models import Command, Runbook, Service, SeverityLevel, Step

    for n in range(4):
        SeverityLevel.objects.create(name=f"SEV{n + 1}", rank=n, aliases=[["Critical", "P1"], ["P2"], ["P3"], []][n])
    service = Service.objects.create(name="checkout-api")
    with transaction.atomic():
        for n in range(RUNBOOKS):
            title = "Checkout latency high" if n == 0 else f"Runbook {n} for service {n % 17}"
            runbook = Runbook.objects.create(title=title, service=service if n == 0 else None,
                                             alerts=["CheckoutLatencyHigh"] if n == 0 else [f"Alert{n}"],
                                             body_markdown=f"# {title}")
            for order in range(4):
                step = Step.objects.create(runbook=runbook, order=order, phase="mitigation", text=f"Step {order}")
                if order == 1:
                    Command.objects.create(step=step, text="kubectl get pods -n checkout")
            runbook.refresh_search_text()
            runbook.record_version(note="bench")
    integration = Integration(name="bench")
    token = integration.set_new_token()
    integration.save()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return token


LUA_FIXED = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.body = [==[%(body)s]==]
"""

# Each request the next of KNOWN groups already open: repeats as Alertmanager sends them, one group at a time
# (the fixed row above sends ONE alert from eight connections at once, so every request waits for the same
# row lock: a convoy on a busy machine, not the cost of a repeat).
KNOWN = 50
LUA_ROTATE = """
local counter = 0
local bodies = {%(bodies)s}
request = function()
  counter = counter + 1
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
                    ["Authorization"] = "Bearer %(token)s"}, bodies[(counter %% #bodies) + 1])
end
"""

# Each request a new group: the thread number and a counter make the group key and fingerprints unique.
LUA_NEW = """
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local template = [==[%(body)s]==]
request = function()
  counter = counter + 1
  local body = template:gsub("GROUPID", tid .. "x" .. counter)
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
                    ["Authorization"] = "Bearer %(token)s"}, body)
end
"""


@dataclass
class Figure:
    name: str
    alerts_per_request: int
    rps: float
    p50: float
    p99: float
    errors: int

    @property
    def alerts_per_second(self) -> float:
        return self.rps * self.alerts_per_request


def run_wrk(server: Server, script: str, name: str, alerts: int) -> Figure:
    wrk = wrk_path()
    if not wrk:
        raise SystemExit("this benchmark needs wrk (installed with apt-get when run as root)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    argv = [wrk, "--latency", "-t", "2", "-c", str(CONCURRENCY), "-d", f"{max(1, round(SECONDS))}s",
            "--timeout", "10s", "-s", f.name, server.url + PATH]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    row = parse_wrk(out, name)
    return Figure(name, alerts, row.rps, row.p50_ms, row.p99_ms, row.errors)


def main() -> None:
    with fresh_database():
        django_setup()
        token = make_data()
        os.environ["ALERTS_RATE_LIMIT_PER_MINUTE"] = "100000000"
        with Server(workers=2) as server:
            figures = []
            for alerts, name in ((1, "repeats, 1 alert/delivery"), (10, "repeats, 10 alerts/delivery")):
                body = json.dumps(payload(f"known-{alerts}", alerts))
                status, _, answer = server.request("POST", PATH, body=body.encode(), headers={
                    "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                assert status == 200 and json.loads(answer)["decision"] == "new_incident", answer
                figures.append(run_wrk(server, LUA_FIXED % {"token": token, "body": body}, name, alerts))
            bodies = [json.dumps(payload(f"rotating-{n}", 1)) for n in range(KNOWN)]
            for body in bodies:
                status, _, answer = server.request("POST", PATH, body=body.encode(), headers={
                    "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                assert status == 200, answer
            lua_bodies = ", ".join(f"[==[{body}]==]" for body in bodies)
            figures.append(run_wrk(server, LUA_ROTATE % {"token": token, "bodies": lua_bodies, "path": PATH},
                                   f"repeats, 1 alert, {KNOWN} groups", 1))
            new_body = json.dumps(payload("GROUPID", 1))
            figures.append(run_wrk(server, LUA_NEW % {"token": token, "body": new_body, "path": PATH},
                                   "new groups (each declares)", 1))
            trivial = load(server, "/bench/trivial/", seconds=SECONDS, concurrency=CONCURRENCY, name="trivial")
        from incidents.models import AlertDelivery, Incident

        declared = Incident.objects.count()
        lines = AlertDelivery.objects.count()
        attached = Incident.objects.filter(runbooks__isnull=False).distinct().count()
    print(f"\nalert ingest, 2 gunicorn workers, {CONCURRENCY} connections, {SECONDS:.0f} s per row; "
          f"load average {Path('/proc/loadavg').read_text().split()[0]}")
    print(f"{'row':<30} {'req/s':>8} {'alerts/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'% trivial':>10}")
    for f in figures:
        print(f"{f.name:<30} {f.rps:>8.1f} {f.alerts_per_second:>9.1f} {f.p50:>8.2f} {f.p99:>8.2f} {f.errors:>7} "
              f"{100 * f.rps / trivial.rps:>9.0f}%")
    print(f"{'trivial view':<30} {trivial.rps:>8.1f} {'-':>9} {trivial.p50_ms:>8.2f} {trivial.p99_ms:>8.2f} "
          f"{trivial.errors:>7} {'100%':>10}")
    print(f"{declared:,} incidents declared ({attached:,} with a runbook attached), {lines:,} inbox lines")
    repeats = min(f.alerts_per_second for f in figures[:3])
    print(f"targets: repeats {repeats:.0f} alerts/s (>= 500: {'met' if repeats >= 500 else 'NOT met'}), "
          f"new groups {figures[3].alerts_per_second:.0f} alerts/s "
          f"(>= 100: {'met' if figures[3].alerts_per_second >= 100 else 'NOT met'})")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"({time.monotonic() - started:.0f} s)")
