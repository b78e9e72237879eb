"""The API object, its errors (always `{"error": "..."}` JSON, never a 500 for bad input), token auth with a
per-token rate limit, permission checks by role, and Idempotency-Key handling for creates."""

from __future__ import annotations

import hashlib
import json
import logging

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from accounts.models import ApiToken
from incidents.models import IncidentError

from . import ratelimit
from .models import IdempotencyKey

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Everything a person does in the console, scriptable. Authenticate with `Authorization: Bearer <token>`:
a person's API token (`manage.py create_api_token USERNAME`, or the admin) acts with that person's role; the
alert webhooks take an integration's token (`manage.py create_integration NAME --kind alertmanager|generic`).

Errors are JSON: `{"error": "what went wrong, in words"}` (and `details` for a body that does not fit).
Creates accept an `Idempotency-Key` header: the same key again returns the first answer instead of creating twice.
"""


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None,
                 details: list | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.details = status, message, headers or {}, details


api = NinjaAPI(title="Incident Console API", version="1", description=DESCRIPTION, openapi_url=None,
               docs_url=None, urls_namespace="api")


def error_response(request: HttpRequest, status: int, message: str, *, details: list | None = None,
                   headers: dict[str, str] | None = None) -> HttpResponse:
    body = {"error": message}
    if details:
        body["details"] = details
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error_response(request, exc.status, exc.message, details=exc.details, headers=exc.headers)


@api.exception_handler(IncidentError)
def _incident_error(request, exc: IncidentError):
    return error_response(request, 409, str(exc))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return error_response(request, 401, "Send a valid API token: Authorization: Bearer <token>.",
                          headers={"WWW-Authenticate": 'Bearer realm="api"'})


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, str(exc) if str(exc) else "Not found.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400 and "cannot parse" in exc.message.lower():  # ninja's words for a body that is not JSON
        return error_response(request, 400, "The body is not valid JSON.")
    return error_response(request, exc.status_code, exc.message)


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    details = []
    for error in exc.errors:
        loc = [str(p) for p in error.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            where, loc = loc[0], loc[1:]
            # ninja names the body argument itself ('payload'): leave it out of what a person reads
            if where == "body" and loc and loc[0] in ("payload", "data"):
                loc = loc[1:]
        else:
            where = "request"
        details.append({"in": where, "field": ".".join(loc), "message": error.get("msg", "invalid")})
    if any(d["message"].lower().startswith(("json decode", "cannot parse")) for d in details) or not details:
        return error_response(request, 400, "The body is not valid JSON.")
    first = details[0]
    named = f"{first['field']}: " if first["field"] else ""
    return error_response(request, 400, f"The request does not fit: {named}{first['message']}", details=details)


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    logger.exception("API request %s %s failed", request.method, request.path)
    return error_response(request, 500, "Something went wrong on our side; nothing was changed.")


class UserToken(HttpBearer):
    """A person's API token: the request acts as that person, with their role; rate-limited per token."""

    def authenticate(self, request, token):
        user = ApiToken.user_for(token)
        if user is None:
            return None
        count, retry = ratelimit.hit("api", user.api_token.token_hash[:32], settings.API_RATE_LIMIT_PER_MINUTE)
        if count > settings.API_RATE_LIMIT_PER_MINUTE > 0:
            raise ApiError(429, f"Too many requests with this token (over {settings.API_RATE_LIMIT_PER_MINUTE} a "
                                f"minute); wait {retry} s.", headers={"Retry-After": str(retry)})
        request.user = user
        return user


user_token = UserToken()


def need(request, permission: str, doing: str) -> None:
    """403 unless the token's user may do this (the same permission the page checks)."""
    if not request.user.has_perm(permission):
        raise ApiError(403, f"Your role does not allow you to {doing}.")


IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotent(request, create) -> HttpResponse:
    """Run `create() -> (status, body)` once per Idempotency-Key (when one is sent) and answer as JSON.

    The key's row is written first, in the create's transaction: a concurrent request with the same key waits
    on the unique constraint, then reads the stored answer. Failed creates are not remembered, so the same key
    can be retried after fixing the request.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        status, body = create()
        return api.create_response(request, body, status=status)
    if len(key) > 200:
        raise ApiError(400, "Keep the Idempotency-Key under 200 characters.")
    fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), request.body])) \
        .hexdigest()
    with transaction.atomic():
        row, created = IdempotencyKey.objects.get_or_create(
            user=request.user, key=key, defaults={"request_hash": fingerprint})
        if not created:
            return _replayed(request, row, fingerprint)
        try:
            with transaction.atomic():
                status, body = create()
        except (ApiError, IncidentError):
            row.delete()
            raise
        row.status_code, row.response = status, json.loads(json.dumps(body, cls=DjangoJSONEncoder))
        row.save(update_fields=["status_code", "response"])
    return api.create_response(request, body, status=status)


def _replayed(request, row: IdempotencyKey, fingerprint: str) -> HttpResponse:
    if row.request_hash != fingerprint:
        raise ApiError(422, "This Idempotency-Key was already used for a different request; use a new key.")
    if row.status_code is None:
        raise ApiError(409, "A request with this Idempotency-Key is still being handled; try again shortly.")
    response = api.create_response(request, row.response, status=row.status_code)
    response["Idempotent-Replayed"] = "true"
    return response
