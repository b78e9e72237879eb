"""Check that the database and the broker answer; one clear line when they do not."""

from __future__ import annotations

from pathlib import Path

from celery import current_app as celery_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_database() -> None:
    where = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        Path(where["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    try:
        connection.ensure_connection()
    except Exception as exc:  # noqa: BLE001 - any failure is reported the same way
        if connection.vendor == "sqlite":
            name = str(where["NAME"])
        else:
            name = f"{where.get('HOST') or 'localhost'}:{where.get('PORT') or 5432}/{where.get('NAME')}"
        raise CommandError(f"cannot reach the database {name} (DATABASE_URL): {_first_line(exc)}") from None


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # noqa: BLE001
        safe = url.split("@")[-1]
        raise CommandError(f"cannot reach the broker {safe} (CELERY_BROKER_URL): {_first_line(exc)}") from None


class Command(BaseCommand):
    help = "Check the database and the broker are reachable before starting."

    def add_arguments(self, parser):
        parser.add_argument("--skip-broker", action="store_true")

    def handle(self, *args, **options):
        check_database()
        if not options["skip_broker"]:
            check_broker()
        self.stdout.write("database and broker reachable")
