"""/api/v1/: the routers, the OpenAPI schema (/api/v1/schema/) and its browsable docs (/api/v1/docs/).

API requests authenticate with tokens, not sessions, so the console's login redirect does not apply to them
(each operation checks its token); the docs page is for people and stays behind the login.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path, re_path
from django.views.decorators.http import require_GET

from accounts.models import ApiToken
from accounts.tokens import bearer
from incidents.alerts.payloads import AlertmanagerPayload, GenericPayload

from . import incidents, runbooks, webhooks
from .core import api

api.add_router("/incidents/", incidents.router)
api.add_router("/runbooks/", runbooks.router)
api.add_router("/alerts/", webhooks.router)

PREFIX = "/api/v1/"


@cache
def openapi_schema() -> dict:
    """The OpenAPI 3 document, with the webhook payloads (validated by hand, so ninja does not see them)."""
    schema = api.get_openapi_schema(path_prefix=PREFIX)
    schema = dict(schema)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (AlertmanagerPayload, GenericPayload):
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas[found.get("title", model.__name__)] = found
    components.setdefault("securitySchemes", {})["IntegrationToken"] = {
        "type": "http", "scheme": "bearer",
        "description": "An integration's token (manage.py create_integration), for the alert webhooks only",
    }
    return schema


@login_not_required
@require_GET
def schema_view(request):
    """The schema, for a logged-in person or a valid API token."""
    if not request.user.is_authenticated and ApiToken.user_for(bearer(request)) is None:
        return JsonResponse({"error": "Log in, or send a valid API token: Authorization: Bearer <token>."},
                            status=401)
    return JsonResponse(openapi_schema(), json_dumps_params={"ensure_ascii": False})


@require_GET
def docs_view(request):
    return render(request, "api/docs.html", {"schema_url": f"{PREFIX}schema/"})


@login_not_required
def not_found(request, rest=""):
    return JsonResponse({"error": f"There is no API endpoint {request.path}; see {PREFIX}docs/."}, status=404)


def _token_views(patterns):
    """ninja's views, marked as authenticating themselves (tokens); its root page is left out (we have docs)."""
    kept = []
    for pattern in patterns:
        if getattr(pattern, "name", None) == "api-root":
            continue
        if hasattr(pattern, "url_patterns"):
            _token_views(pattern.url_patterns)
        else:
            login_not_required(pattern.callback)
        kept.append(pattern)
    return kept


app_name = "api"
urlpatterns = [
    path("schema/", schema_view, name="schema"),
    path("docs/", docs_view, name="docs"),
    *_token_views(api.urls[0]),
    re_path(r"^(?P<rest>.*)$", not_found),  # a JSON 404, not the console's HTML page, for scripts
]
