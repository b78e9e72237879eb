"""GET /healthz: ok or not ok for load balancers and anyone; the database's and broker's details for staff.

An anonymous caller learns nothing about the stack (database vendor, broker transport, error messages that
name hosts and ports): only whether the console is ok, and the status code (503 when the database is gone).
"""

from __future__ import annotations

from celery import current_app as celery_app
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy; say what it was
        return {"ok": False, "error": str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}


def _broker() -> dict:
    # A pooled connection (not a new one per check) keeps /healthz cheap under a load balancer's polling;
    # a ping asks the server itself, since a pooled connection may have gone stale.
    try:
        with celery_app.pool.acquire(block=True, timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            client = getattr(conn.default_channel, "client", None)
            if callable(getattr(client, "ping", None)):
                client.ping()
            return {"ok": True, "transport": conn.transport_cls if isinstance(conn.transport_cls, str) else "?"}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}


def _is_staff(request) -> bool:
    try:
        user = request.user
        return bool(user.is_authenticated and user.is_staff)
    except Exception:  # noqa: BLE001 - a session that cannot be read is nobody
        return False


@login_not_required
@require_GET
@never_cache
def healthz(request):
    database, broker = _database(), _broker()
    status = "ok" if database["ok"] and broker["ok"] else ("degraded" if database["ok"] else "down")
    # The console cannot work without its database; without the broker it still serves pages.
    code = 200 if database["ok"] else 503
    if not (database["ok"] and _is_staff(request)):  # with the database gone, nobody can be looked up
        return JsonResponse({"status": "ok" if status == "ok" else "not ok"}, status=code)
    return JsonResponse({"status": status, "database": database, "broker": broker}, status=code)
