"""Uploaded documents waiting for an admin's decision, and imports running in the background.

An upload is kept here, in the database, between the preview and "Store" (never in the session, which
a big upload would bloat on every request of that admin). Storing a few small documents happens in the
request; a big import is an ImportJob that a Celery task on the default queue works through, document
by document, saying how far it has got; its page polls that progress.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

KEEP_PENDING = timedelta(days=1)


class ImportJob(models.Model):
    """One upload: previewed, then stored (now, or by a worker), or cancelled."""

    class State(models.TextChoices):
        PREVIEW = "preview", "Waiting for a decision"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Storing"
        DONE = "done", "Stored"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State, default=State.PREVIEW)
    total = models.PositiveIntegerField(default=0, help_text="Documents to store")
    done = models.PositiveIntegerField(default=0, help_text="Documents stored or failed so far")
    messages = models.JSONField(default=list, blank=True, help_text='[{"level": "success", "text": "..."}]')
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.id} ({self.get_state_display()})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED, self.State.CANCELLED)

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @classmethod
    def forget_old(cls) -> None:
        """Uploads nobody decided about within a day are dropped with their bytes."""
        cls.objects.filter(state=cls.State.PREVIEW, created_at__lt=timezone.now() - KEEP_PENDING).delete()


class ImportFile(models.Model):
    """One uploaded document of an import, with the reading chosen for it."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="files")
    order = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=300)
    data = models.BinaryField(help_text="The document's bytes; emptied once it is stored")
    size = models.PositiveIntegerField(default=0)
    split = models.CharField(max_length=10, default="auto")

    class Meta:
        ordering = ["job", "order"]

    def __str__(self) -> str:
        return self.name
