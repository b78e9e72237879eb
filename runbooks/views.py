"""Runbook pages: list and search, detail, history and diffs, matching (severity and escalation: oncall_views.py)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from itertools import groupby

from django.contrib.auth.decorators import permission_required
from django.db import connection
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from .forms import MatchForm
from .matching import match_runbooks
from .models import (
    Phase,
    Runbook,
    RunbookVersion,
    Service,
    Step,
)
from .search import SearchPaginator, clean_query, search_runbooks

PAGE_SIZE = 25
MAX_ALERT_OPTIONS = 500
PHASE_ORDER = {value: i for i, value in enumerate(Phase.values)}
PHASE_LABELS = dict(Phase.choices)


# --- list and search ------------------------------------------------------------------------------

def _alert_names() -> list[str]:
    """Every alert name some runbook answers, for the filter select."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT a FROM runbooks_runbook, jsonb_array_elements_text("
                "CASE WHEN jsonb_typeof(alerts) = 'array' THEN alerts ELSE '[]'::jsonb END) AS a "
                "ORDER BY a LIMIT %s", [MAX_ALERT_OPTIONS])
            return [row[0] for row in cursor.fetchall()]
    names = {str(a) for alerts in Runbook.objects.values_list("alerts", flat=True) if isinstance(alerts, list)
             for a in alerts if a}
    return sorted(names)[:MAX_ALERT_OPTIONS]


@require_GET
@permission_required("runbooks.view_runbook", raise_exception=True)
def runbook_list(request):
    q = clean_query(request.GET.get("q"))
    service = request.GET.get("service", "").strip()[:200]
    alert = request.GET.get("alert", "").strip()[:200]
    services = list(Service.objects.values_list("name", flat=True))
    problems = []
    if service and service not in services:
        problems.append(f"No service is called “{service}”; showing nothing for it.")
    page = SearchPaginator(search_runbooks(q, service=service or None, alert=alert or None), PAGE_SIZE) \
        .get_page(request.GET.get("page"))
    runbooks = list(page.object_list)
    counts = dict(
        Step.objects.filter(runbook__in=[r.pk for r in runbooks]).values_list("runbook").annotate(n=Count("pk"))
    ) if runbooks else {}
    for runbook in runbooks:
        runbook.step_count = counts.get(runbook.pk, 0)
    context = {
        "page": page, "runbooks": runbooks, "q": q, "service": service, "alert": alert, "services": services,
        "alerts": _alert_names(), "problems": problems, "filtered": bool(q or service or alert),
    }
    template = "runbooks/list.html#results" if request.htmx and not request.htmx.boosted else "runbooks/list.html"
    return render(request, template, context)


# --- detail -------------------------------------------------------------------------------------

@dataclass
class PhaseGroup:
    phase: str
    label: str
    steps: list = field(default_factory=list)

    @property
    def is_checklist(self) -> bool:
        return any(s.checkbox for s in self.steps)


def _phase_groups(steps: list[Step]) -> list[PhaseGroup]:
    ordered = sorted(steps, key=lambda s: (PHASE_ORDER.get(s.phase, len(PHASE_ORDER)), s.order, s.pk))
    return [PhaseGroup(phase, PHASE_LABELS.get(phase, phase.title()), list(group))
            for phase, group in groupby(ordered, key=lambda s: s.phase)]


@require_GET
@permission_required("runbooks.view_runbook", raise_exception=True)
def detail(request, slug):
    runbook = get_object_or_404(Runbook.objects.select_related("service__owner", "source"), slug=slug)
    steps = list(runbook.steps.prefetch_related("commands"))
    contacts = list(runbook.service.contacts.all()) if runbook.service else []
    return render(request, "runbooks/detail.html", {
        "runbook": runbook, "groups": _phase_groups(steps), "step_count": len(steps), "contacts": contacts,
    })


# --- history and diffs ------------------------------------------------------------------------------

def _get_runbook(slug: str) -> Runbook:
    return get_object_or_404(Runbook.objects.only("pk", "title", "key", "slug", "version"), slug=slug)


@require_GET
@permission_required("runbooks.view_runbook", raise_exception=True)
def versions(request, slug):
    runbook = _get_runbook(slug)
    a, b = request.GET.get("a", ""), request.GET.get("b", "")
    if a or b:  # the compare form: a plain GET that lands on the diff page
        if a.isdigit() and b.isdigit():
            return redirect("runbooks:diff", slug=runbook.slug, a=int(a), b=int(b))
        raise Http404("Pick two version numbers to compare.")
    history = list(runbook.versions.select_related("created_by").defer("snapshot").order_by("-number"))
    return render(request, "runbooks/versions.html", {"runbook": runbook, "history": history})


def snapshot_text(snapshot: dict) -> list[str]:
    """A snapshot as lines a person reads, so a line diff shows what changed in words."""
    snap = snapshot if isinstance(snapshot, dict) else {}
    lines = [
        f"Title: {snap.get('title') or ''}",
        f"Key: {snap.get('key') or '—'}",
        f"Service: {snap.get('service') or '—'}",
        f"Alerts: {', '.join(map(str, snap.get('alerts') or [])) or '—'}",
        f"Error patterns: {', '.join(map(str, snap.get('error_patterns') or [])) or '—'}",
        f"Severity: {snap.get('severity') or '—'}",
        "Summary:",
        *[f"  {line}" for line in str(snap.get("summary") or "").splitlines()],
        "Steps:",
    ]
    for n, step in enumerate(snap.get("steps") or [], start=1):
        if not isinstance(step, dict):
            continue
        box = "[ ] " if step.get("checkbox") else ""
        heading = f" — {step['heading']}" if step.get("heading") else ""
        lines.append(f"  {n}. ({step.get('phase') or 'other'}{heading}) {box}{step.get('text') or ''}".rstrip())
        for command in step.get("commands") or []:
            if not isinstance(command, dict):
                continue
            flags = " [destructive]" if command.get("destructive") else ""
            flags += " [needs approval]" if command.get("needs_approval") else ""
            for i, line in enumerate(str(command.get("text") or "").splitlines() or [""]):
                prefix = f"     $ ({command.get('language') or 'text'}{flags}) " if i == 0 else "       "
                lines.append(prefix + line)
    lines.append("Body:")
    lines += [f"  {line}" for line in str(snap.get("body_markdown") or "").splitlines()]
    return lines


def diff_lines(old: dict, new: dict) -> list[tuple[str, str]]:
    """(kind, line) pairs: kind is "add", "del", "ctx" or "hunk"."""
    out = []
    for line in difflib.unified_diff(snapshot_text(old), snapshot_text(new), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(("hunk", "…"))
        elif line.startswith("+"):
            out.append(("add", line[1:]))
        elif line.startswith("-"):
            out.append(("del", line[1:]))
        else:
            out.append(("ctx", line[1:]))
    return out


@require_GET
@permission_required("runbooks.view_runbook", raise_exception=True)
def diff(request, slug, a: int, b: int):
    runbook = _get_runbook(slug)
    found = {v.number: v for v in RunbookVersion.objects.filter(runbook=runbook, number__in={a, b})
             .select_related("created_by")}
    if a not in found or b not in found:
        raise Http404("This runbook has no such version.")
    old, new = found[a], found[b]
    lines = diff_lines(old.snapshot, new.snapshot)
    return render(request, "runbooks/diff.html", {
        "runbook": runbook, "old": old, "new": new, "lines": lines,
        "added": sum(1 for k, _ in lines if k == "add"), "removed": sum(1 for k, _ in lines if k == "del"),
    })


# --- matching ---------------------------------------------------------------------------------------

@require_GET
@permission_required("runbooks.view_runbook", raise_exception=True)
def match(request):
    form = MatchForm(request.GET or None)
    matches = None
    if form.is_bound and form.is_valid():
        q = form.cleaned_data["q"]
        service = form.cleaned_data["service"].strip()
        if q.strip() or service:
            labels = {"service": service} if service else None
            matches = match_runbooks(q, labels=labels, limit=20)
    return render(request, "runbooks/match.html", {"form": form, "matches": matches})
