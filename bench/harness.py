"""What every benchmark needs: a fresh database, a real gunicorn, a load generator and a table.

    from bench.harness import Server, fresh_database, load, print_table

    with fresh_database(), Server(workers=2) as server:
        cookie = server.login("admin", "pw")
        rows = [load(server, "/bench/trivial/", name="trivial"), load(server, "/", cookie=cookie, name="dashboard")]
    print_table(rows)

Run scripts under tests.services so DATABASE_URL points at a throwaway PostgreSQL (`make bench` does).
See bench/README.md.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The environment every benchmark process runs under: production-like (DEBUG off, manifest static files),
# plain HTTP on loopback, quiet logs.
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DEBUG": "false",
    "HTTPS": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
}


def configure_environ() -> None:
    """Put the benchmark settings into os.environ (kept when already set), so child processes inherit them."""
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if not os.environ.get("SECRET_KEY") and not os.environ.get("SECRET_KEY_FILE"):
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(*args: str, quiet: bool = True) -> None:
    """Run manage.py with the benchmark environment (raises CalledProcessError on failure)."""
    configure_environ()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


def django_setup() -> None:
    """For scripts that use the ORM in-process (e.g. to create data before loading a page)."""
    configure_environ()
    import django

    django.setup()


# --- database -------------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(*, migrate: bool = True) -> Iterator[str]:
    """Create an empty database on the PostgreSQL server in DATABASE_URL, migrate it, drop it afterwards.

    Sets os.environ["DATABASE_URL"] to the new database for the duration (child processes inherit it).
    Call django_setup() inside the block, not before, if the script uses the ORM.
    """
    import psycopg

    configure_environ()
    original = os.environ.get("DATABASE_URL", "")
    if not original.startswith(("postgres://", "postgresql://")):
        raise SystemExit("benchmarks need PostgreSQL: run them under `python -m tests.services --` (make bench)")
    parts = urllib.parse.urlsplit(original)
    name = f"bench_{secrets.token_hex(4)}"
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    try:
        if migrate:
            manage("migrate", "--noinput")
        yield os.environ["DATABASE_URL"]
    finally:
        os.environ["DATABASE_URL"] = original
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- server ---------------------------------------------------------------------------------------


class Server:
    """gunicorn serving bench.settings (console + /bench/trivial/) on a free loopback port."""

    def __init__(self, workers: int = 2, *, threads: int = 1, timeout: float = 30.0) -> None:
        self.workers = workers
        self.threads = threads
        self.timeout = timeout
        self.port = free_port()
        self.host = "127.0.0.1"
        self.proc: subprocess.Popen | None = None
        self._static = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Server:
        configure_environ()
        self._static = tempfile.mkdtemp(prefix="bench-static-")
        os.environ["STATIC_ROOT"] = self._static
        manage("collectstatic", "--noinput")
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        argv = [gunicorn if os.path.exists(gunicorn) else "gunicorn", "console.wsgi",
                "--bind", f"{self.host}:{self.port}", "--workers", str(self.workers),
                "--threads", str(self.threads), "--no-control-socket", "--log-level", "warning",
                "--timeout", "60"]
        self.proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"})
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.proc.returncode}")
            with contextlib.suppress(OSError):
                status, _, _ = self.request("GET", "/bench/trivial/")
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return self
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not answer on {self.url} within {self.timeout:.0f}s")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._static:
            shutil.rmtree(self._static, ignore_errors=True)

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, list[str]], bytes]:
        """One HTTP request (no redirects followed): status, headers (lower-case names, all values), body."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            found: dict[str, list[str]] = {}
            for key, value in response.getheaders():
                found.setdefault(key.lower(), []).append(value)
            return response.status, found, response.read()
        finally:
            conn.close()

    def login(self, username: str, password: str) -> str:
        """Log in through the real login form; returns a Cookie header value for load(cookie=...)."""
        status, headers, body = self.request("GET", "/accounts/login/")
        cookies = _cookies(headers)
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or not match or "csrftoken" not in cookies:
            raise RuntimeError(f"login page: HTTP {status}, no CSRF token")
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1).decode(), "username": username,
                                       "password": password}).encode()
        status, headers, _ = self.request("POST", "/accounts/login/", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie_header(cookies),
            "Referer": f"{self.url}/accounts/login/"})
        cookies.update(_cookies(headers))
        if status != 302 or "sessionid" not in cookies:
            raise RuntimeError(f"login as {username!r} failed: HTTP {status}")
        return _cookie_header(cookies)

    def worker_pids(self) -> list[int]:
        import psutil

        if not self.proc or self.proc.poll() is not None:
            return []
        with contextlib.suppress(psutil.NoSuchProcess):
            return [child.pid for child in psutil.Process(self.proc.pid).children()]
        return []

    def worker_rss(self) -> list[int]:
        """Resident memory (bytes) of each gunicorn worker."""
        import psutil

        sizes = []
        for pid in self.worker_pids():
            with contextlib.suppress(psutil.NoSuchProcess):
                sizes.append(psutil.Process(pid).memory_info().rss)
        return sizes


def _cookies(headers: dict[str, list[str]]) -> dict[str, str]:
    found = {}
    for line in headers.get("set-cookie", []):
        name, _, rest = line.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


# --- load -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk_path() -> str | None:
    """wrk, installed with apt-get when running as root and it is missing."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or os.environ.get("BENCH_NO_WRK"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shutil.which("wrk")


def load(server: Server, path: str, *, cookie: str | None = None, seconds: float = 10, concurrency: int = 8,
         name: str | None = None) -> Row:
    """GET path over keep-alive connections for `seconds`; a non-2xx/3xx response counts as an error."""
    name = name or path
    wrk = wrk_path()
    if wrk:
        return _load_wrk(wrk, server, path, cookie, seconds, concurrency, name)
    return _load_threads(server, path, cookie, seconds, concurrency, name)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, name: str) -> Row:
    """Read requests/s, p50, p99 and errors from `wrk --latency` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(n) for n in match.groups())
    return Row(name, rps, p50, p99, errors)


def _load_wrk(wrk: str, server: Server, path: str, cookie: str | None, seconds: float, concurrency: int,
              name: str) -> Row:
    argv = [wrk, "--latency", "-t", str(max(1, min(concurrency, os.cpu_count() or 2, 4))), "-c", str(concurrency),
            "-d", f"{max(1, round(seconds))}s", "--timeout", "10s"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    result = subprocess.run([*argv, server.url + path], capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout, name)


def _load_threads(server: Server, path: str, cookie: str | None, seconds: float, concurrency: int,
                  name: str) -> Row:
    headers = {"Cookie": cookie} if cookie else {}
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    stop_at = time.monotonic() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[i] += 1
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
            latencies[i].append((time.perf_counter() - started) * 1000)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    every = sorted(t for per in latencies for t in per)
    if not every:
        return Row(name, 0.0, 0.0, 0.0, sum(errors))

    def pct(p: float) -> float:
        return every[min(len(every) - 1, int(p * len(every)))]

    return Row(name, len(every) / elapsed, pct(0.50), pct(0.99), sum(errors))


# --- output ---------------------------------------------------------------------------------------


def print_table(rows: list[Row], baseline: str = "trivial", *, title: str | None = None) -> None:
    """requests/s, p50, p99, errors, and requests/s as a percentage of the baseline row (the trivial view)."""
    base = next((r for r in rows if r.name == baseline), None)
    width = max([len(r.name) for r in rows] + [8])
    if title:
        print(f"\n{title}")
    print(f"{'page':<{width}}  {'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}  {'% of ' + baseline:>12}")
    for row in rows:
        share = f"{100 * row.rps / base.rps:.0f}%" if base and base.rps else "-"
        print(f"{row.name:<{width}}  {row.rps:>9.1f}  {row.p50_ms:>8.2f}  {row.p99_ms:>8.2f}  {row.errors:>6}  "
              f"{share:>12}")
    sys.stdout.flush()
