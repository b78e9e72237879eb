"""make run: migrate, load demo data, then serve the console with a Celery worker and beat.

One Ctrl-C stops every process this command started (a second one kills them at once).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from .preflight import check_broker, check_database

STOP_GRACE_SECONDS = 15
RUN_USER = "console-commands"  # who runbook commands run as, when make run runs as root


class Command(BaseCommand):
    help = "Serve the console with a Celery worker (all queues) and beat, for a single machine."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true",
                            help="No demo data: an empty console with only the admin account (printed once)")

    def handle(self, *args, port: int, no_demo: bool, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            for key in ("data_folder_in", "data_folder_out", "control_folder"):
                os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)
        check_database()
        check_broker()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", admin_only=no_demo)
        self._command_isolation()  # before the worker starts: it inherits the environment
        self._serve(port)

    def _command_isolation(self) -> None:
        """Commands run as an unprivileged user: as root, make one (COMMAND_RUN_USER=console-commands); as
        anyone else, a laptop's own user, there is no other user to switch to, so say so and accept it."""
        if os.environ.get("COMMAND_RUN_USER") or os.environ.get("COMMAND_ALLOW_SAME_USER"):
            return
        if os.geteuid() == 0:
            import pwd

            try:
                pwd.getpwnam(RUN_USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                                "--shell", "/usr/sbin/nologin", RUN_USER], check=False, capture_output=True)
            try:
                pwd.getpwnam(RUN_USER)
            except KeyError:
                pass
            else:
                os.environ["COMMAND_RUN_USER"] = RUN_USER
                return
        os.environ["COMMAND_ALLOW_SAME_USER"] = "true"
        self.stdout.write(self.style.WARNING(
            "  Runbook commands run as you (COMMAND_ALLOW_SAME_USER=true): they could read this console's "
            "environment and files.\n  Fine on a laptop; in production see SECURITY.md (COMMAND_RUN_USER)."))

    def _specs(self, port: int) -> list[tuple[str, list[str]]]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "console"]
        return [
            # One worker for every queue: on one machine there is no bastion host to keep commands apart.
            ("worker", [*celery, "worker", "-Q", "default,notifications,commands", "--concurrency", "4",
                        "--loglevel", "WARNING", "-n", "console@%h",
                        "--without-gossip", "--without-mingle", "--without-heartbeat"]),
            ("beat", [*celery, "beat", "--loglevel", "WARNING",
                      "--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]),
            ("web", [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]),
        ]

    def _serve(self, port: int) -> None:
        # Links in pages point at this server unless CONSOLE_URL says otherwise (the worker composes them).
        os.environ.setdefault("CONSOLE_URL", f"http://127.0.0.1:{port}")
        signals = {"count": 0}

        def on_signal(*_):
            signals["count"] += 1

        # Handlers first, children second: a Ctrl-C at any moment after this still stops every child.
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        procs: list[tuple[str, subprocess.Popen]] = []
        try:
            for name, argv in self._specs(port):
                if signals["count"]:
                    break
                procs.append((name, subprocess.Popen(argv)))
            else:
                self.stdout.write(self.style.SUCCESS(
                    f"\nIncident Console on http://127.0.0.1:{port}/  (worker and beat running; Ctrl-C stops all)\n"))
            while not signals["count"]:
                for name, proc in procs:
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with status {proc.returncode}; stopping the rest")
                        signals["count"] = 1
                time.sleep(0.2)
        finally:
            self._stop(procs, signals)

    def _stop(self, procs: list[tuple[str, subprocess.Popen]], signals: dict) -> None:
        self.stdout.write("stopping the web server, worker and beat...")
        first = signals["count"]
        for _, proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(proc.poll() is None for _, proc in procs):
            if time.monotonic() > deadline or signals["count"] > first:  # too slow, or Ctrl-C pressed again
                for _, proc in procs:
                    if proc.poll() is None:
                        proc.kill()
            time.sleep(0.1)
        self.stdout.write("stopped")
