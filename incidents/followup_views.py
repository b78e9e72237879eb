"""After the incident: action items (/actions/ and the dashboard's summary), response metrics (/metrics/ with
CSV), and how a runbook fared (/runbooks/<slug>/record/, loaded into the runbook page)."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from runbooks.models import Runbook

from . import metrics, pagecache
from .charts import Series, line_chart
from .forms import first_error
from .forms_postmortem import ItemActionForm
from .models import ActionItem, Incident, IncidentError, Postmortem
from .models.milestones import DURATIONS, MEASURED_FROM
from .runbook_record import runbook_record as fared

PAGE_SIZE = 50
SUMMARY_ITEMS = 8
CHART_GROUPS = 6
SHOWS = {"open": "Open", "overdue": "Overdue", "mine": "Mine (open)", "closed": "Done or not doing", "all": "All"}


# --- action items ---------------------------------------------------------------------------------

def _items_for(show: str, user):
    items = ActionItem.objects.for_list()
    today = timezone.localdate()
    if show == "open":
        return items.open()
    if show == "overdue":
        return items.overdue(today)
    if show == "mine":
        return items.open().filter(owner=user)
    if show == "closed":
        return items.exclude(status=ActionItem.Status.OPEN)
    return items


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def action_list(request):
    show = request.GET.get("show", "open")
    problems = []
    if show not in SHOWS:
        problems.append(f"“{show[:40]}” is not a filter; showing the open items.")
        show = "open"
    page = Paginator(_items_for(show, request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = ActionItem.objects.aggregate(
        open=_count(Q(status=ActionItem.Status.OPEN)),
        overdue=_count(Q(status=ActionItem.Status.OPEN, due_date__lt=timezone.localdate())))
    return render(request, "incidents/actions.html", {
        "page": page, "show": show, "shows": SHOWS, "problems": problems, "counts": counts,
        "query": f"show={show}", "today": timezone.localdate(), "next_url": request.get_full_path(),
        "can_change_items": request.user.has_perm("incidents.respond_incident"),
    })


def _count(condition):
    return Count("pk", filter=condition)


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def action_summary(request):
    """The dashboard's card: how many are open and overdue, and the most pressing ones (htmx fragment)."""
    if not request.htmx:
        return redirect("followup:actions")
    today = timezone.localdate()
    counts = ActionItem.objects.aggregate(
        open=_count(Q(status=ActionItem.Status.OPEN)),
        overdue=_count(Q(status=ActionItem.Status.OPEN, due_date__lt=today)))
    items = list(ActionItem.objects.open().for_list()[:SUMMARY_ITEMS])
    return render(request, "incidents/actions.html#summary", {"counts": counts, "summary_items": items,
                                                              "today": today})


def _back(request, item: ActionItem) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return item.get_absolute_url()


@require_POST
@permission_required("incidents.view_incident", raise_exception=True)
def item_action(request, pk, item_pk):
    """Done, not doing (with a reason), reopen, or done because its runbook has a new version.
    Responders may change any item; an item's owner may change their own."""
    item = get_object_or_404(ActionItem.objects.select_related("runbook", "incident__severity", "owner"),
                             pk=item_pk, incident_id=pk)
    if not (request.user.has_perm("incidents.respond_incident") or item.owner_id == request.user.pk):
        return HttpResponseForbidden("Only responders and the item's owner can change it.")
    form = ItemActionForm(request.POST)
    error = ""
    if not form.is_valid():
        error = first_error(form)
    else:
        action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
        try:
            if action == "done":
                item.complete(by=request.user, note=reason)
            elif action == "not_doing":
                item.decline(by=request.user, reason=reason)
            elif action == "reopen":
                item.reopen(by=request.user)
            else:
                item.close_for_runbook_version(by=request.user)
        except IncidentError as exc:
            error = str(exc)
    if request.htmx:
        if request.POST.get("from") == "list":
            item.refresh_from_db()
            return render(request, "incidents/actions.html#item-row", {
                "item": item, "row_error": error, "today": timezone.localdate(), "from_list": True,
                "next_url": _back(request, item),
                "can_change_items": request.user.has_perm("incidents.respond_incident")})
        from .postmortem_views import action_context

        incident = Incident.objects.select_related("severity", "service").get(pk=pk)
        postmortem = Postmortem.objects.filter(incident=incident).first()
        return render(request, "incidents/postmortem/page.html#actions-card", {
            "incident": incident, "postmortem": postmortem, "action_error": error,
            **action_context(request, incident, postmortem)})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"“{item.description[:60]}”: {item.get_status_display().lower()}.")
    return redirect(_back(request, item))


# --- metrics ----------------------------------------------------------------------------------------

def _charts(report: metrics.Report) -> tuple[list[dict], list[tuple[str, str]], bool]:
    busiest = sorted(report.groups, key=lambda g: -next(t.count for t in report.totals if t.group == g))
    shown = [g for g in report.groups if g in busiest[:CHART_GROUPS]]

    def css(group: str, i: int) -> str:
        if report.filters.by == "severity":
            return f"sev-{min(report.group_ranks.get(group, 4), 4)}"
        return f"series-{i % 8}"

    charts = []
    for d in DURATIONS:
        series = []
        for i, group in enumerate(shown):
            figs = report.series[group]
            series.append(Series(f"{group} median", css(group, i),
                                 [f.median[d.key] / 60 if f.median[d.key] is not None else None for f in figs]))
            series.append(Series(f"{group} p90", css(group, i),
                                 [f.p90[d.key] / 60 if f.p90[d.key] is not None else None for f in figs],
                                 dashed=True))
        charts.append({"key": d.key, "title": f"{d.label} ({d.short}), from impact started: median (solid) and "
                                              "p90 (dashed)",
                       "svg": line_chart(f"{d.label} per {'week' if report.filters.weekly else 'month'}",
                                         report.periods, series, weekly=report.filters.weekly)})
    counts = [Series(group, css(group, i), [float(f.count) for f in report.series[group]])
              for i, group in enumerate(shown)]
    charts.append({"key": "count", "title": "Incidents declared",
                   "svg": line_chart("Incidents declared", report.periods, counts, weekly=report.filters.weekly,
                                     unit="")})
    legend = [(group, css(group, i)) for i, group in enumerate(shown)]
    return charts, legend, len(report.groups) > len(shown)


def _group_css(report: metrics.Report) -> dict[str, str]:
    if report.filters.by != "severity":
        return {}
    return {g: f"sev-{min(report.group_ranks.get(g, 4), 4)}" for g in report.groups}


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def metrics_page(request):
    """Rendered once per range, reader and change to the incidents in it (metrics.fingerprint, pagecache.py)."""
    filters = metrics.parse_filters(request.GET)

    def context():
        report = metrics.report(filters)
        charts, legend, clipped = _charts(report)
        return {
            "filters": filters, "report": report, "charts": charts, "legend": legend, "clipped": clipped,
            "durations": DURATIONS, "definitions": metrics.DEFINITIONS, "measured_from": MEASURED_FROM,
            "groupings": metrics.GROUPINGS, "edited": report.edited_rows[:50],
            "edited_count": len(report.edited_rows), "group_css": _group_css(report),
        }

    return pagecache.render_page(request, "incidents/metrics.html", "metrics", metrics.fingerprint(filters), context,
                                 shaped_by=(filters.query(), tuple(filters.problems)))


def _safe_cell(value):
    """Spreadsheets run a cell starting with = + - @ as a formula: such text gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(name: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe_cell(v) for v in row])
    return response


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def metrics_csv(request):
    """The figures on the page: per group for the whole range, then per group and period. Times in seconds."""
    filters = metrics.parse_filters(request.GET)
    report = metrics.report(filters)
    header = ["grouped_by", "group", "period_start", "incidents", "edited_milestones"]
    for d in DURATIONS:
        header += [f"{d.key}_median_s", f"{d.key}_p90_s", f"{d.key}_reached", f"{d.key}_met", f"{d.key}_missed",
                   f"{d.key}_compliance_pct"]

    def line(f: metrics.Figures):
        row = [filters.by, f.group, f.period.isoformat() if f.period else "", f.count, f.edited]
        for d in DURATIONS:
            med = f.median[d.key]
            row += [int(med) if med is not None and med == int(med) else med, f.p90[d.key], f.reached[d.key],
                    f.met[d.key], f.missed[d.key], f.compliance(d.key)]
        return ["" if v is None else v for v in row]

    rows = [line(f) for f in report.totals] + [line(f) for g in report.groups for f in report.series[g] if f.count]
    return _csv(f"metrics-{filters.start}-{filters.end}-by-{filters.by}.csv", header, rows)


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def metrics_incidents_csv(request):
    filters = metrics.parse_filters(request.GET)
    rows = metrics.load(filters)
    header = ["id", "title", "severity", "service", "status", "declared_at", "response_s",
              *[f"{d.key}_s" for d in DURATIONS], *[f"{d.key}_met" for d in DURATIONS], "edited_milestones"]

    def met(r, key):
        took = r.times[key]
        if r.allowed is None or took is None:
            return ""
        return "yes" if took <= r.allowed else "no"

    return _csv(f"incidents-{filters.start}-{filters.end}.csv", header, (
        [r.id, r.title, r.severity, r.service, r.status, r.declared_at.isoformat(),
         "" if r.allowed is None else r.allowed, *["" if r.times[d.key] is None else r.times[d.key] for d in DURATIONS],
         *[met(r, d.key) for d in DURATIONS], " ".join(r.edited)] for r in rows))


# --- how a runbook fared -------------------------------------------------------------------------------

@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def runbook_record(request, slug):
    runbook = get_object_or_404(Runbook, slug=slug)
    context = {"runbook": runbook, "record": fared(runbook), "today": timezone.localdate(),
               "actions_url": reverse("followup:actions")}
    if request.htmx:
        return render(request, "incidents/runbook_record.html#record", context)
    return render(request, "incidents/runbook_record.html", context)
