"""Soak: 50 viewers polling their incident pages every second while 5 responders tick, note and run commands.

    .venv/bin/python -m tests.services -- .venv/bin/python bench/bench_soak.py      # SOAK_SECONDS=600 by default

PostgreSQL, gunicorn with 2 workers, a real Celery worker running the commands (as COMMAND_RUN_USER when
tests.services set one up). Each viewer polls `/incidents/<pk>/poll/` once a second as the page does (its
revision and last event id, 204 when nothing changed); each responder, every RESPONDER_PAUSE seconds, in
turn ticks the next checklist item, adds a note, or runs a command through the form (show, then run). At
the end it prints: errors (any 4xx/5xx or socket error), latency percentiles per kind of request beside a
trivial view measured in the same run, whether every action is on the timeline exactly once (and every run
finished), and the memory of the command worker and the gunicorn workers over time.

Pass: 0 errors, p95 under 300 ms, every action once, worker memory flat (growth under 20 % after warm-up).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Server, django_setup, fresh_database, load, print_table  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
VIEWERS = int(os.environ.get("SOAK_VIEWERS", "50"))
RESPONDERS = int(os.environ.get("SOAK_RESPONDERS", "5"))
RESPONDER_PAUSE = float(os.environ.get("SOAK_RESPONDER_PAUSE", "3"))
STEPS = 30  # checklist items per incident, as a real runbook has; once all are ticked, the responder reopens them
MEMORY_EVERY = 10.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.ticks: list[int] = []
        self.reopens: list[int] = []
        self.runs: list[str] = []

    def took(self, kind: str, ms: float) -> None:
        with self.lock:
            self.latency[kind].append(ms)

    def error(self, text: str) -> None:
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(text)
            else:
                self.errors.append("…")


class Client:
    """One browser: its cookies, its CSRF token, one request at a time (gunicorn's sync workers close)."""

    def __init__(self, server: Server, cookie: str, results: Results) -> None:
        self.server, self.cookie, self.results = server, cookie, results
        self.csrf = re.search(r"csrftoken=([^;]+)", cookie).group(1)

    def call(self, kind: str, method: str, path: str, form: dict | None = None, *, ok=(200, 204, 286, 302),
             htmx: bool = False) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": self.csrf})
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        try:
            status, _, content = self.server.request(method, path, body=body, headers=headers)
        except (OSError, http.client.HTTPException) as exc:
            self.results.error(f"{kind} {path}: {exc}")
            return 0, b""
        self.results.took(kind, (time.perf_counter() - started) * 1000)
        if status not in ok:
            self.results.error(f"{kind} {method} {path}: HTTP {status}")
        return status, content


def viewer(client: Client, incident_pk: int, stop: threading.Event) -> None:
    revision, runs, after = 0, 0, 0
    time.sleep(random.random())  # spread the viewers over the second
    while not stop.is_set():
        began = time.monotonic()
        status, body = client.call("viewer poll", "GET",
                                   f"/incidents/{incident_pk}/poll/?rev={revision}&runs={runs}&after={after}",
                                   htmx=True)
        if status == 200:
            if found := re.search(rb'id="poller" data-revision="(\d+)" data-runs="(\d+)"', body):
                revision, runs = int(found.group(1)), int(found.group(2))
            if found := re.search(rb'id="poll-after" name="after" value="(\d+)"', body):
                after = int(found.group(1))
        stop.wait(max(0.0, 1.0 - (time.monotonic() - began)))


def responder(client: Client, n: int, incident_pk: int, items: list[int], command_item: int, target_pk: int,
              stop: threading.Event) -> None:
    results = client.results
    step, turn = 0, 0
    time.sleep(random.random() * RESPONDER_PAUSE)
    while not stop.is_set():
        action = ("tick", "note", "run")[turn % 3]
        turn += 1
        if action == "tick":
            # Tick down the list; once everything is ticked, reopen it item by item, then tick again.
            item, undo = items[step % len(items)], (step // len(items)) % 2 == 1
            status, _ = client.call("responder tick", "POST", f"/incidents/{incident_pk}/items/{item}/",
                                    {"action": "reopen" if undo else "tick"})
            if status == 302:
                with results.lock:
                    (results.reopens if undo else results.ticks).append(item)
            step += 1
        elif action == "note":
            text = f"soak note from responder {n}, number {turn}"
            if client.call("responder note", "POST", f"/incidents/{incident_pk}/notes/", {"text": text})[0] == 302:
                with results.lock:
                    results.notes.append(text)
        else:
            word = f"soak-r{n}-{turn}"
            url = f"/incidents/{incident_pk}/items/{command_item}/commands/0/run/"
            form = {"target": target_pk, "param_word": word}
            status, body = client.call("responder run (show)", "POST", url, {**form, "action": "preview"})
            token = re.search(rb'name="previewed" value="([^"]+)"', body) if status == 200 else None
            if token is None:
                results.error(f"run form for {word}: no preview (HTTP {status})")
            elif client.call("responder run (dispatch)", "POST", url,
                             {**form, "action": "dispatch", "previewed": token.group(1).decode()})[0] == 302:
                with results.lock:
                    results.runs.append(word)
        stop.wait(RESPONDER_PAUSE)


def start_worker(log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "-Q", "default,notifications,commands",
         "-c", "2", "--loglevel", "WARNING", "-n", f"soak-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env={**os.environ, "CELERY_DB_REUSE_MAX": "1000"}, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the worker exited:\n{log.read_text()[-2000:]}")
        if b"ready" in log.read_bytes() or _children(proc.pid):
            time.sleep(1.0)
            return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the worker did not get ready in 60 s")


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its children (a Celery worker's pool), in bytes."""
    import psutil

    total = 0
    with contextlib.suppress(psutil.NoSuchProcess):
        for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
    return total


def main() -> int:
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        raise SystemExit("this benchmark needs Redis: run it under `python -m tests.services --`")
    if not os.environ.get("COMMAND_RUN_USER"):
        os.environ["COMMAND_ALLOW_SAME_USER"] = "true"  # not root: commands run as this user (say so below)
    results = Results()
    with fresh_database():
        django_setup()
        from django.contrib.auth.models import Group, User

        from accounts.roles import RESPONDER, VIEWER
        from incidents.models import CommandRun, ExecutionTarget, Incident, TimelineEvent
        from tests.factories import make_runbook, make_severities

        severities = make_severities()
        target = ExecutionTarget.objects.create(name="soak", allowed_programs=["echo"], is_default=True,
                                                timeout_seconds=60)
        steps = [("investigation", "Say the word", ["echo <word>"])]
        steps += [("mitigation", f"Soak step {i}", []) for i in range(1, STEPS)]
        people, incidents = [], []
        for n in range(RESPONDERS):
            user = User.objects.create_user(f"responder{n}", password="soak-pass-Plum-41")
            user.groups.add(Group.objects.get(name=RESPONDER))
            runbook = make_runbook(f"Soak runbook {n}", steps=steps)
            incidents.append(Incident.declare(title=f"Soak incident {n}", severity=severities[2], by=user,
                                              runbooks=[runbook]))
            people.append(user)
        for n in range(min(VIEWERS, 10)):
            User.objects.create_user(f"viewer{n}", password="soak-pass-Plum-41").groups.add(
                Group.objects.get(name=VIEWER))
        layout = []
        for incident in incidents:
            ordered = list(incident.checklist.order_by("order").values_list("pk", flat=True))
            layout.append((incident.pk, ordered[1:], ordered[0]))

        log = Path(tempfile.mkdtemp(prefix="soak-worker-")) / "worker.log"
        worker = start_worker(log)
        memory: list[tuple[float, int, list[int]]] = []
        try:
            with Server(workers=2) as server:
                baseline = load(server, "/bench/trivial/", seconds=3, concurrency=4, name="trivial")
                responders = [Client(server, server.login(f"responder{n}", "soak-pass-Plum-41"), results)
                              for n in range(RESPONDERS)]
                viewers = [Client(server, server.login(f"viewer{n % min(VIEWERS, 10)}", "soak-pass-Plum-41"),
                                  results) for n in range(VIEWERS)]
                stop = threading.Event()
                threads = [threading.Thread(target=viewer, args=(c, layout[i % len(layout)][0], stop), daemon=True)
                           for i, c in enumerate(viewers)]
                threads += [threading.Thread(target=responder, args=(c, n, *layout[n], target.pk, stop), daemon=True)
                            for n, c in enumerate(responders)]
                began = time.monotonic()
                for thread in threads:
                    thread.start()
                while time.monotonic() - began < SECONDS:
                    memory.append((time.monotonic() - began, tree_rss(worker.pid), server.worker_rss()))
                    time.sleep(min(MEMORY_EVERY, max(0.1, SECONDS - (time.monotonic() - began))))
                stop.set()
                for thread in threads:
                    thread.join(15)
                memory.append((time.monotonic() - began, tree_rss(worker.pid), server.worker_rss()))
                after = load(server, "/bench/trivial/", seconds=3, concurrency=4, name="trivial (after)")
                # Let the last runs finish before counting.
                deadline = time.monotonic() + 60
                while CommandRun.objects.filter(state__in=CommandRun.ACTIVE).exists() and time.monotonic() < deadline:
                    time.sleep(0.5)
        finally:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()

        # --- every action on the timeline exactly once -----------------------------------------------------
        events = list(TimelineEvent.objects.values_list("kind", "message", "data"))
        note_counts = defaultdict(int)
        tick_counts: Counter = Counter()
        reopen_counts: Counter = Counter()
        for kind, message, data in events:
            if kind == "note":
                note_counts[message] += 1
            elif kind == "checklist" and isinstance(data, dict):
                if data.get("state") == "done":
                    tick_counts[data.get("item")] += 1
                elif data.get("state") == "open":
                    reopen_counts[data.get("item")] += 1
        runs = list(CommandRun.objects.values_list("pk", "script", "state"))
        requested = defaultdict(int)
        for _, message, _ in events:
            if message.startswith("Requested run #"):
                requested[message.rsplit(": echo ", 1)[-1]] += 1
        finished = defaultdict(int)
        for _, message, _ in events:
            if found := re.match(r"Run #(\d+) (?:succeeded|failed|timed out|was cancelled|was lost)", message):
                finished[int(found.group(1))] += 1
        problems = []
        problems += [f"note {t!r} on the timeline {note_counts[t]} times" for t in results.notes if note_counts[t] != 1]
        if Counter(results.ticks) != tick_counts:
            problems.append(f"ticks: {len(results.ticks)} done, {sum(tick_counts.values())} on the timeline")
        if Counter(results.reopens) != reopen_counts:
            problems.append(f"reopens: {len(results.reopens)} done, {sum(reopen_counts.values())} on the timeline")
        problems += [f"run {w} requested on the timeline {requested[w]} times" for w in results.runs
                     if requested[w] != 1]
        problems += [f"run #{pk} ({state}) finished on the timeline {finished[pk]} times" for pk, _, state in runs
                     if finished[pk] != 1]
        problems += [f"run #{pk} {state}" for pk, _, state in runs if state != "succeeded"]
        if len(runs) != len(results.runs):
            problems.append(f"{len(results.runs)} runs dispatched, {len(runs)} stored")

    # --- report --------------------------------------------------------------------------------------------
    every = [ms for values in results.latency.values() for ms in values]
    print(f"\nSoak: {SECONDS:.0f} s, {VIEWERS} viewers polling every second, {RESPONDERS} responders acting every "
          f"{RESPONDER_PAUSE:g} s; gunicorn 2 workers; commands run "
          f"{'as ' + os.environ['COMMAND_RUN_USER'] if os.environ.get('COMMAND_RUN_USER') else 'as this user'}")
    print_table([baseline, after], title="trivial view, before and after (requests/s ceiling)")
    print(f"\n{'requests':<26}{'n':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in sorted(results.latency):
        values = results.latency[kind]
        print(f"{kind:<26}{len(values):>8}{pct(values, 50):>9.1f}{pct(values, 95):>9.1f}{pct(values, 99):>9.1f}"
              f"{max(values):>9.1f}")
    print(f"{'all':<26}{len(every):>8}{pct(every, 50):>9.1f}{pct(every, 95):>9.1f}{pct(every, 99):>9.1f}"
          f"{max(every) if every else 0:>9.1f}")
    print(f"\nerrors: {len(results.errors)}" + "".join(f"\n  {e}" for e in results.errors[:20]))
    print(f"actions: {len(results.ticks)} ticks, {len(results.reopens)} reopens, {len(results.notes)} notes, "
          f"{len(results.runs)} runs; "
          f"on the timeline exactly once: {'yes' if not problems else 'NO'}"
          + "".join(f"\n  {p}" for p in problems[:20]))
    warm = [m for m in memory if m[0] >= min(60.0, SECONDS / 3)] or memory
    first, last = warm[0], memory[-1]
    growth = (last[1] - first[1]) / first[1] if first[1] else 0.0
    peak = max(m[1] for m in memory)
    print(f"command worker memory (pool included): {first[1] / 2**20:.1f} MiB at {first[0]:.0f} s -> "
          f"{last[1] / 2**20:.1f} MiB at {last[0]:.0f} s (peak {peak / 2**20:.1f} MiB, growth {100 * growth:+.1f} %)")
    print("gunicorn workers: " + ", ".join(f"{a / 2**20:.1f} -> {b / 2**20:.1f} MiB"
                                           for a, b in zip(first[2], last[2], strict=False)))
    polls = results.latency.get("viewer poll") or [0.0]
    print(f"samples: {len(memory)} every {MEMORY_EVERY:g} s; mean poll {statistics.mean(polls):.1f} ms")
    ok = not results.errors and pct(every, 95) < 300 and not problems and growth < 0.20
    print(f"\n{'PASS' if ok else 'FAIL'}: 0 errors, p95 < 300 ms, every action once, worker memory flat")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
