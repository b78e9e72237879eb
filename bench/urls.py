"""The console's URLs plus /bench/trivial/, the cheapest response Django can give (the baseline)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial, name="bench-trivial"),
    path("", include("console.urls")),
]
