"""/wall/: the screen in the room. Open incidents as large tiles, no navigation, current without a touch.

It polls as the dashboard does: the fingerprint of what it shows in the request, 204 while nothing changed (one
query), the tiles when something did. Response clocks turn overdue in the browser (console.js reads data-due).
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .models import Incident
from .views import UNSHOWN, _with_progress, dashboard_fingerprint

WALL_POLL_SECONDS = 5


def _tiles() -> dict:
    incidents = list(_with_progress(
        Incident.objects.open().select_related("severity", "service", "commander").defer(*UNSHOWN).by_urgency()
    ))
    return {"incidents": incidents, "overdue": sum(1 for i in incidents if i.response_breached and
                                                   not i.acknowledged_at)}


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def wall(request):
    """The whole wall page; with ?fp= (its own poll), 204 while nothing changed, else the tiles alone."""
    fingerprint = dashboard_fingerprint()
    context = {"fingerprint": fingerprint, "poll_seconds": WALL_POLL_SECONDS}
    if "fp" in request.GET:
        if request.GET["fp"] == fingerprint:
            return HttpResponse(status=204)
        return render(request, "incidents/wall.html#tiles", {**context, **_tiles()})
    return render(request, "incidents/wall.html", {**context, **_tiles()})
