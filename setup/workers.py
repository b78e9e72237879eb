"""Which queues Celery workers consume right now: asked over the broker, answered within a second, kept briefly.

`celery inspect active_queues` is a broadcast every running worker answers (Redis in production, kombu's
filesystem transport under `make run`, which supports broadcasts through its control folder). The answer is
kept in the default cache for CACHE_SECONDS, so the setup page asks at most that often however many admins
look, and a page never waits more than INSPECT_TIMEOUT for workers that are not there. The Celery app is the
current one (no import of `console`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.core.cache import cache
from django.utils import timezone

CACHE_KEY = "setup:queue-consumers:v1"
CACHE_SECONDS = 15
INSPECT_TIMEOUT = 1.0


@dataclass
class Consumers:
    by_queue: dict[str, list[str]] = field(default_factory=dict)  # queue -> names of the workers consuming it
    error: str = ""  # the broker could not be asked: why
    checked_at: datetime | None = None


def _ask() -> dict[str, list[str]]:
    """{worker name: [queue, ...]} from every worker that answers within INSPECT_TIMEOUT."""
    from celery import current_app

    replies = current_app.control.inspect(timeout=INSPECT_TIMEOUT).active_queues() or {}
    return {worker: [q.get("name", "") for q in (queues or []) if isinstance(q, dict)]
            for worker, queues in replies.items()}


def _ask_if_any() -> dict[str, list[str]]:
    """As `_ask`, but a filesystem broker whose folders do not exist yet has no worker to ask (nothing has
    started one: `make run` makes them), which is an answer, not an error."""
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("control_folder", "")
        if folder and not Path(folder).is_dir():
            return {}
    return _ask()


def queue_consumers(*, refresh: bool = False) -> Consumers:
    kept = None if refresh else cache.get(CACHE_KEY)
    if kept is not None:
        return Consumers(kept["by_queue"], kept["error"], kept["checked_at"])
    by_queue: dict[str, list[str]] = {}
    error = ""
    try:
        for worker, queues in sorted(_ask_if_any().items()):
            for queue in queues:
                by_queue.setdefault(queue, []).append(worker)
    except Exception as exc:  # noqa: BLE001 - kombu, redis, socket and OS errors all mean "could not ask"
        error = f"the broker did not answer ({type(exc).__name__}: {str(exc)[:200] or 'no detail'})"
    now = timezone.now()
    cache.set(CACHE_KEY, {"by_queue": by_queue, "error": error, "checked_at": now}, CACHE_SECONDS)
    return Consumers(by_queue, error, now)
