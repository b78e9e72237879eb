"""Run a command with its own PostgreSQL and Redis on free loopback ports, stopped afterwards.

    python -m tests.services -- pytest ...

Installs PostgreSQL, Redis, Chromium and bubblewrap with apt-get when run as root and they are missing, and
makes an unprivileged user for commands to run as. Exports DATABASE_URL, CELERY_BROKER_URL, REDIS_URL,
CHROMIUM_PATH and COMMAND_RUN_USER to the command.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APT_PACKAGES = {"postgresql": "initdb", "redis-server": "redis-server", "chromium": "chromium",
                "bubblewrap": "bwrap"}
RUN_USER = "console-cmd-test"  # the unprivileged user test commands run as (COMMAND_RUN_USER)


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def ensure_installed() -> None:
    missing = []
    if not pg_bin("initdb"):
        missing.append("postgresql")
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    if not chromium_path():
        missing.append("chromium")
    if not shutil.which("bwrap"):
        missing.append("bubblewrap")
    if not missing:
        return
    if os.geteuid() != 0:
        log(f"missing {', '.join(missing)} and not root: install them, or tests that need them skip")
        return
    log(f"installing {' '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def ensure_run_user() -> str | None:
    """As root, an unprivileged system user for commands to run as (COMMAND_RUN_USER), made when missing."""
    import pwd

    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUN_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", RUN_USER], check=True)
    return RUN_USER


def as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: drop to the postgres user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def start_postgres(root: Path) -> tuple[str, callable]:
    data, sock = root / "pgdata", root / "pgsock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    subprocess.run(as_postgres([pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync",
                                "-E", "UTF8"]), check=True, cwd="/", stdout=subprocess.DEVNULL)
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200")
    subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "pg.log"),
                                "-w", "start"]), check=True, cwd="/", stdout=subprocess.DEVNULL)

    def stop() -> None:
        subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), cwd="/",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return f"postgres://postgres@127.0.0.1:{port}/console", stop


def start_redis(root: Path) -> tuple[str, callable]:
    port = free_port()
    pidfile = root / "redis.pid"
    subprocess.run(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--daemonize", "yes",
                    "--save", "", "--appendonly", "no", "--dir", str(root), "--pidfile", str(pidfile),
                    "--logfile", str(root / "redis.log")], check=True)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)

    def stop() -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text()), signal.SIGTERM)

    return f"redis://127.0.0.1:{port}", stop


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_installed()
    root = Path(tempfile.mkdtemp(prefix="console-services-"))
    stops = []
    env = dict(os.environ)
    try:
        if pg_bin("initdb"):
            url, stop = start_postgres(root)
            stops.append(stop)
            env["DATABASE_URL"] = url
            log(f"PostgreSQL at {url}")
        if shutil.which("redis-server"):
            url, stop = start_redis(root)
            stops.append(stop)
            env["CELERY_BROKER_URL"] = f"{url}/0"
            env["REDIS_URL"] = f"{url}/0"
            env["CACHE_URL"] = f"{url}/1"
            log(f"Redis at {url}")
        if chromium_path():
            env["CHROMIUM_PATH"] = chromium_path()
        if (user := ensure_run_user()) and not env.get("COMMAND_RUN_USER"):
            env["COMMAND_RUN_USER"] = user
            log(f"commands run as {user}")
        return subprocess.call(argv, env=env)
    finally:
        for stop in reversed(stops):
            stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
