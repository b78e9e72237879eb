"""Before and after: the incident pages from another checkout and from this one, on the same data, one request to
each in turn, so a busy machine slows both alike (wrk figures from separate runs differ by more than a change).

    python -m tests.services -- .venv/bin/python bench/compare_incidents.py /path/to/other/checkout

The other checkout (e.g. `git worktree add /tmp/before main`) must be able to run on this checkout's database
schema (an older one usually can: its code ignores columns added since). Data: bench_incidents.make_data, smaller
by default (COMPARE_CLOSED, COMPARE_EVENTS): kept pages and the poll do not grow with it. Each server is one
gunicorn sync worker; COMPARE_N requests to each per page, after 50 to warm up; medians printed with the load.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import ROOT, Server, django_setup, free_port, fresh_database  # noqa: E402

N = int(os.environ.get("COMPARE_N", "2000"))
WARM = 50


def start(root: Path) -> tuple[subprocess.Popen, int]:
    """One gunicorn worker serving the checkout at `root` with the benchmark settings."""
    env = {**os.environ, "STATIC_ROOT": tempfile.mkdtemp(prefix="compare-static-"),
           "DJANGO_SETTINGS_MODULE": "bench.settings"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen([gunicorn, "console.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                             "--no-control-socket", "--log-level", "warning"], cwd=root, env=env)
    for _ in range(300):
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/bench/trivial/")
            conn.getresponse().read()
            return proc, port
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"{root}: gunicorn did not answer")


def main() -> None:
    if len(sys.argv) != 2 or not (Path(sys.argv[1]) / "manage.py").exists():
        raise SystemExit(__doc__)
    other = Path(sys.argv[1]).resolve()
    with fresh_database():
        django_setup()
        import bench.bench_incidents as incidents

        incidents.CLOSED = int(os.environ.get("COMPARE_CLOSED", "500"))
        incidents.EVENTS = int(os.environ.get("COMPARE_EVENTS", "6000"))
        pk, revision, runs, last = incidents.make_data()
        with Server(workers=1) as login:
            cookie = login.login("bench-commander", "pw")  # sessions are shared: same database, cache and key
        servers = {"before": start(other), "after": start(ROOT)}
        try:
            pages = {"trivial": "/bench/trivial/", "dashboard": "/", "incident page": f"/incidents/{pk}/",
                     "unchanged poll": incidents.poll_url(pk, revision, runs, last)}  # an older poll ignores runs=
            conns = {name: http.client.HTTPConnection("127.0.0.1", port) for name, (_, port) in servers.items()}
            for page, path in pages.items():
                times: dict[str, list[float]] = {"before": [], "after": []}
                for i in range(N + WARM):
                    for name in ("before", "after") if i % 2 else ("after", "before"):
                        started = time.perf_counter()
                        conns[name].request("GET", path, headers={"Cookie": cookie})
                        response = conns[name].getresponse()
                        response.read()
                        if response.status not in (200, 204):
                            raise SystemExit(f"{name} {path}: HTTP {response.status}")
                        if i >= WARM:
                            times[name].append((time.perf_counter() - started) * 1000)
                before, after = statistics.median(times["before"]), statistics.median(times["after"])
                print(f"{page:15} before {before:6.3f} ms  after {after:6.3f} ms  after/before {after / before:.2f}"
                      f"  (median of {N} each, alternated; load {os.getloadavg()[0]:.2f})", flush=True)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(15)


if __name__ == "__main__":
    main()
