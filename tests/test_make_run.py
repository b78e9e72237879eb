"""make run, for real: runconsole serves the console with a worker and beat; one Ctrl-C stops every process."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """`manage.py runconsole` in a subprocess of its own session, its output collected in a file."""

    def __init__(self, var_dir: Path, port: int, **env: str) -> None:
        self.port = port
        self.log = var_dir.parent / f"runconsole-{time.monotonic_ns()}.log"
        clean = {k: v for k, v in os.environ.items()
                 if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
                 and not k.startswith("PYTEST")}
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runconsole", "--port", str(port)], cwd=ROOT,
            env={**clean, "CONSOLE_VAR_DIR": str(var_dir), "DEBUG": "true", **env},
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.url(path), timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_for_login_page(self, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"runconsole exited with {self.proc.returncode}:\n{self.output}")
            try:
                status, body = self.get("/accounts/login/")
                if status == 200:
                    return body
            except OSError:
                pass
            time.sleep(0.3)
        pytest.fail(f"no login page within {timeout}s:\n{self.output}")

    def login(self, username: str, password: str) -> tuple[int, str]:
        page = self.wait_for_login_page()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username,
                                       "password": password}).encode()
        request = urllib.request.Request(self.url("/accounts/login/"), data=data,
                                         headers={"Referer": self.url("/accounts/login/")})
        with self.opener.open(request, timeout=10) as response:  # follows the redirect to the dashboard
            return response.status, response.read().decode()

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def ctrl_c(self, *, whole_group: bool = False, within: float = 20) -> list[psutil.Process]:
        """One SIGINT, to runconsole alone or (as a terminal's Ctrl-C does) to its whole process group.

        Returns the processes still alive `within` seconds later.
        """
        family = [psutil.Process(self.proc.pid), *self.descendants()]
        if whole_group:
            os.killpg(self.proc.pid, signal.SIGINT)
        else:
            self.proc.send_signal(signal.SIGINT)
        _, alive = psutil.wait_procs(family, timeout=within)
        return alive

    def kill_everything(self) -> None:
        if self.proc.poll() is None:
            for proc in [*self.descendants(), psutil.Process(self.proc.pid)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
            self.proc.wait(10)


@pytest.fixture
def var_dir(tmp_path):
    return tmp_path / "var"


def test_runconsole_serves_logs_in_and_stops_everything_on_one_ctrl_c(var_dir, worker_processes):
    port = free_port()
    console = Console(var_dir, port, CONSOLE_ADMIN_USER="boss", CONSOLE_ADMIN_PASSWORD="correct-horse-battery")
    worker_processes.append(console)
    try:
        status, dashboard = console.login("boss", "correct-horse-battery")
        assert status == 200
        assert "Log out" in dashboard
        assert "Demo: checkout latency above SLO" in dashboard
        assert "Admin login: boss / correct-horse-battery" in console.output

        status, health = console.get("/healthz")
        assert status == 200 and '"database": {"ok": true' in health

        names = " ".join(" ".join(p.cmdline()) for p in console.descendants())
        assert "worker" in names and "beat" in names and "runserver" in names

        alive = console.ctrl_c(within=20)
        assert alive == [], f"still running 20 s after Ctrl-C: {[p.cmdline() for p in alive]}"
        console.proc.wait(5)  # the parent too has exited (TimeoutExpired if not)
    finally:
        console.kill_everything()

    # Started again on the same var/: same data, and the admin password is not printed a second time.
    again = Console(var_dir, free_port(), CONSOLE_ADMIN_USER="boss")
    worker_processes.append(again)
    try:
        status, dashboard = again.login("boss", "correct-horse-battery")
        assert status == 200
        assert "Demo: checkout latency above SLO" in dashboard
        assert "Admin login" not in again.output  # the password is printed once, when the account is created
        assert again.ctrl_c(whole_group=True) == []
    finally:
        again.kill_everything()
