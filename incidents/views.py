from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render

from .models import Incident


@permission_required("incidents.view_incident", raise_exception=True)
def dashboard(request):
    incidents = Incident.objects.open().select_related("severity", "service", "commander").by_urgency()
    resolved = Incident.objects.recently_resolved().select_related("severity", "service")[:20]
    return render(request, "incidents/dashboard.html", {"incidents": incidents, "resolved": resolved})


@permission_required("incidents.view_incident", raise_exception=True)
def incident_list(request):
    incidents = Incident.objects.select_related("severity", "service")[:200]
    return render(request, "incidents/list.html", {"incidents": incidents})


@permission_required("incidents.add_incident", raise_exception=True)
def declare(request):
    return render(request, "incidents/declare.html", {})


@permission_required("incidents.view_incident", raise_exception=True)
def postmortems(request):
    incidents = Incident.objects.filter(status__in=["resolved", "closed"]).select_related("severity")[:200]
    return render(request, "incidents/postmortems.html", {"incidents": incidents})


@permission_required("incidents.view_incident", raise_exception=True)
def detail(request, pk):
    incident = get_object_or_404(Incident.objects.select_related("severity", "service"), pk=pk)
    return render(request, "incidents/detail.html", {"incident": incident})
