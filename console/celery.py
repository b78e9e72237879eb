"""The Celery app: queues default, notifications and commands; routes live in settings."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
# Celery's Django fixup closes the DB connection after every task unless told to keep it:
# reusing it saves a fresh authenticated connection per task.
os.environ.setdefault("CELERY_DB_REUSE_MAX", "100")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
