"""Thin Celery tasks for the knowledge base: ids in, re-fetch, guard, act.

A big admin upload is stored here, on the default queue, document by document; its page shows how far it
has got (runbooks/admin_import.py).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from runbooks.models import ImportJob

log = logging.getLogger(__name__)


def enqueue_import(job_id: str) -> None:
    """Send a queued import to a worker; called after the transaction that queued it commits. A broker
    that cannot be reached must not leave the job waiting forever: it fails, saying why."""
    try:
        run_import.apply_async((job_id,), retry=True, retry_policy={"max_retries": 1, "interval_start": 0})
    except Exception as exc:  # noqa: BLE001 - kombu, redis and socket errors all mean "not queued"
        log.warning("import %s could not be queued: %s", job_id, exc)
        ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED).update(
            state=ImportJob.State.FAILED,
            finished_at=timezone.now(),
            messages=[{"level": "error", "text": f"The import could not be handed to a worker ({exc}); "
                                                 "nothing was stored. Try again when the worker is up."}],
        )


@shared_task(acks_late=True)
def run_import(job_id: str) -> None:
    from runbooks.admin_import import _parse, store_files

    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state != ImportJob.State.QUEUED:
            return  # gone, or another worker has it (a redelivered message)
        ImportJob.objects.filter(pk=job_id).update(state=ImportJob.State.RUNNING)
    files = list(job.files.order_by("order"))
    store_files(job, [(file, _parse(file)) for file in files])
