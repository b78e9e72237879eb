from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render

from .models import EscalationPolicy, Runbook, SeverityLevel


@permission_required("runbooks.view_runbook", raise_exception=True)
def runbook_list(request):
    runbooks = Runbook.objects.select_related("service").order_by("title")[:200]
    return render(request, "runbooks/list.html", {"runbooks": runbooks})


@permission_required("runbooks.view_runbook", raise_exception=True)
def detail(request, slug):
    runbook = get_object_or_404(Runbook.objects.select_related("service"), slug=slug)
    steps = runbook.steps.prefetch_related("commands")
    return render(request, "runbooks/detail.html", {"runbook": runbook, "steps": steps})


@permission_required("runbooks.view_severitylevel", raise_exception=True)
def severity(request):
    levels = SeverityLevel.objects.all()
    policies = EscalationPolicy.objects.select_related("severity", "service").prefetch_related("tiers__contacts")
    return render(request, "runbooks/severity.html", {"levels": levels, "policies": policies})
