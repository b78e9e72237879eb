"""POST /api/v1/alerts/alertmanager/ and /api/v1/alerts/generic/: alerts in, behind an integration's token.

The HTTP side lives here (token, rate limit, body size); what a delivery does is incidents/alerts/ingest.py, so
the admin's replay runs exactly the same code. Every request leaves an inbox line, refused ones included, and
nothing else when it is refused. Unauthenticated requests and floods are bounded: past the rate limit only the
first refusal of each minute is written down.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from ninja import Router

from accounts.tokens import bearer
from incidents.alerts import ingest
from incidents.models import AlertDelivery, Integration

from . import ratelimit
from .core import api, error_response
from .schemas import Delivery, Error

router = Router(tags=["alerts"])
RESPONSES = {200: Delivery, 400: Error, 401: Error, 413: Error, 429: Error, 503: Error}


def _body_doc(schema: str, description: str) -> dict:
    return {
        "requestBody": {"required": True, "description": description,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}},
        "security": [{"IntegrationToken": []}],
    }


@router.post("/alertmanager/", auth=None, response=RESPONSES, url_name="alerts_alertmanager",
             openapi_extra=_body_doc("AlertmanagerPayload", "Alertmanager's webhook payload, version 4"))
def alertmanager(request):
    """Alertmanager's webhook (`webhook_configs: - url: .../api/v1/alerts/alertmanager/` with
    `http_config.authorization.credentials` set to the integration's token). A new group firing declares an
    incident with its matching runbooks; the group's later alerts go to that incident while it is open."""
    return _webhook(request, Integration.Kind.ALERTMANAGER)


@router.post("/generic/", auth=None, response=RESPONSES, url_name="alerts_generic",
             openapi_extra=_body_doc("GenericAlert", "One alert; the same dedup_key is the same alert"))
def generic(request):
    """One alert from any tool: `title`, `dedup_key`, `status` (firing or resolved), and optionally `severity`,
    `service`, `details`, `links`, `started_at`."""
    return _webhook(request, Integration.Kind.GENERIC)


def _webhook(request, kind: str) -> HttpResponse:
    remote = request.META.get("REMOTE_ADDR") or None
    headers = ingest.headers_of(request.META)
    limit = settings.ALERTS_RATE_LIMIT_PER_MINUTE
    token = bearer(request)
    integration = Integration.for_token(token)

    def line(status: int, reason: str, body: bytes = b"", who: Integration | None = None) -> AlertDelivery:
        delivery = ingest.new_delivery(kind, integration=who, body=body, headers=headers, remote_addr=remote,
                                       keep=ingest.KEPT_BODY_BYTES)
        return ingest.refuse(delivery, status, reason)

    if integration is None:
        # Counted per address, so guessing tokens (or a sender with a stale one) cannot fill the inbox.
        count, retry = ratelimit.hit("alerts-unknown", remote or "-", limit)
        if count > limit > 0:
            return _too_many(request, count == limit + 1, line, retry, limit, None)
        reason = ("No token: send Authorization: Bearer <the integration's token>." if not token else
                  "The token matches no active integration (wrong, replaced, or the integration is inactive).")
        delivery = line(401, reason, _read(request, ingest.KEPT_BODY_BYTES))
        response = _answer(request, delivery)
        response["WWW-Authenticate"] = 'Bearer realm="alerts"'
        return response
    count, retry = ratelimit.hit("alerts", integration.token_hash[:32], limit)
    if count > limit > 0:
        return _too_many(request, count == limit + 1, line, retry, limit, integration)
    declared = _content_length(request)
    if declared is not None and declared > ingest.MAX_BODY_BYTES:
        # Only the start is read (and kept), whatever the sender claims to send.
        return _answer(request, line(413, _too_large(declared), _read(request, ingest.KEPT_BODY_BYTES + 1),
                                     integration))
    body = _read(request, ingest.MAX_BODY_BYTES + 1)
    if len(body) > ingest.MAX_BODY_BYTES:
        return _answer(request, line(413, _too_large(len(body)), body, integration))
    delivery = ingest.receive(integration, kind, body, headers=headers, remote_addr=remote)
    return _answer(request, delivery)


def _answer(request, delivery: AlertDelivery) -> HttpResponse:
    if delivery.status_code >= 400:
        return error_response(request, delivery.status_code, delivery.reason)
    return api.create_response(request, {
        "delivery": delivery.pk, "decision": delivery.decision, "reason": delivery.reason.strip(),
        "incident": delivery.incident_id,
        "incident_url": request.build_absolute_uri(f"/incidents/{delivery.incident_id}/")
        if delivery.incident_id else None,
    }, status=delivery.status_code)


def _too_many(request, first: bool, line, retry: int, limit: int, integration) -> HttpResponse:
    reason = (f"Too many deliveries (over {limit} a minute); wait {retry} s. Further refusals this minute are not "
              "kept in the inbox.")
    if first:
        line(429, reason, b"", integration)
    return error_response(request, 429, reason, headers={"Retry-After": str(retry)})


def _too_large(size: int) -> str:
    return (f"The body is {size:,} bytes; at most {ingest.MAX_BODY_BYTES:,} are accepted (lower Alertmanager's "
            "max_alerts, or send fewer alerts per request).")


def _content_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def _read(request, limit: int) -> bytes:
    try:
        return request.read(limit)
    except OSError:  # the client went away
        return b""
