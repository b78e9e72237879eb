"""The console's URLs plus /bench/trivial/, the cheapest response Django can give (the baseline), and
/bench/one-query/, the same with one indexed SELECT: the floor for any page that reads the database once."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


@login_not_required
@require_GET
def one_query(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT revision, runs_revision, status FROM incidents_incident WHERE id = %s",
                       [request.GET.get("pk", 1)])
        cursor.fetchone()
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial, name="bench-trivial"),
    path("bench/one-query/", one_query, name="bench-one-query"),
    path("", include("console.urls")),
]
