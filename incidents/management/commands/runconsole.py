"""make run: migrate, load demo data, then serve the console with a Celery worker and beat.

One Ctrl-C stops every process this command started.
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


class Command(BaseCommand):
    help = "Serve the console with a Celery worker (all queues) and beat, for a single machine."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data")

    def handle(self, *args, port: int, no_demo: bool, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            for key in ("data_folder_in", "control_folder"):
                os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)
        check_database()
        check_broker()
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("seed_demo")
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "console"]
        specs = [
            ("worker", [*celery, "worker", "-Q", "default,notifications,commands", "--concurrency", "4",
                        "--loglevel", "WARNING", "-n", "console@%h"]),
            ("beat", [*celery, "beat", "--loglevel", "WARNING",
                      "--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]),
            ("web", [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]),
        ]
        procs = [(name, subprocess.Popen(argv)) for name, argv in specs]
        self.stdout.write(self.style.SUCCESS(f"Incident Console on http://127.0.0.1:{port}/  (Ctrl-C stops all)"))
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in procs:
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with status {proc.returncode}; stopping the rest")
                        stopping = True
                time.sleep(0.3)
        finally:
            for _, proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + 15
            for _, proc in procs:
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
            self.stdout.write("stopped")
