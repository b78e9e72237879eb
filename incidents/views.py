"""Pages of the incidents app: dashboard, declare, incident page with its live poll, lists.

Every change goes through a model method (which writes the timeline event and bumps the revision);
views check permissions, validate forms and answer either the whole page (plain POST → redirect) or,
for htmx, the live fragments of the incident page.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from runbooks.models import Phase, SeverityLevel
from runbooks.search import clean_query, search_runbooks

from . import pagecache
from .answers import answer_change
from .declare_views import _match
from .forms import AttachForm, NoteForm, RoleForm, SeverityForm, TransitionForm, first_error
from .models import (
    OPEN_STATUSES,
    ROLES,
    ChecklistItem,
    EventKind,
    EventSource,
    Incident,
    IncidentRunbook,
    Status,
    TimelineEvent,
)
from .templatetags.incident_tags import hms, iso

TIMELINE_LIMIT = 200
PAGE_SIZE = 50
HTMX_STOP_POLLING = 286


# --- dashboard -------------------------------------------------------------------------------------

def _with_progress(queryset):
    """Checklist progress and the last timeline entry as subqueries: one query for any number of rows."""
    items = ChecklistItem.objects.filter(incident=OuterRef("pk")).order_by().values("incident")
    total = items.annotate(n=Count("pk")).values("n")
    done = items.filter(state__in=[ChecklistItem.State.DONE, ChecklistItem.State.SKIPPED]) \
        .annotate(n=Count("pk")).values("n")
    last = TimelineEvent.objects.filter(incident=OuterRef("pk")).order_by("-at", "-pk")
    return queryset.annotate(
        items_total=Coalesce(Subquery(total, output_field=IntegerField()), Value(0)),
        items_done=Coalesce(Subquery(done, output_field=IntegerField()), Value(0)),
        last_message=Subquery(last.values("message")[:1]),
        last_at=Subquery(last.values("at")[:1]),
    )


def dashboard_fingerprint() -> str:
    """What the dashboard shows, in one cheap query: any change to any incident moves one of these."""
    table = connection.ops.quote_name(Incident._meta.db_table)
    marks = ", ".join(["%s"] * len(OPEN_STATUSES))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(updated_at) FROM {table}), COUNT(*), COALESCE(SUM(revision), 0), "  # noqa: S608
            f"COALESCE(SUM(id), 0) FROM {table} WHERE status IN ({marks})",
            [str(s) for s in OPEN_STATUSES],
        )
        row = cursor.fetchone()
    return hashlib.blake2s(repr(row).encode(), digest_size=8).hexdigest()


# Long text and JSON the board never shows: not read (summaries can be pages long).
UNSHOWN = ("summary", "severity__aliases", "severity__examples", "severity__description")


def _board_rows() -> dict[str, Any]:
    incidents = list(_with_progress(
        Incident.objects.open().select_related("severity", "service", "commander").defer(*UNSHOWN).by_urgency()
    ))
    resolved = Incident.objects.recently_resolved().select_related("severity", "service").defer(*UNSHOWN) \
        .order_by("-resolved_at")[:20]
    return {"incidents": incidents, "resolved": resolved}


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def dashboard(request):
    fingerprint = dashboard_fingerprint()
    return pagecache.render_page(request, "incidents/dashboard.html", "dashboard", fingerprint,
                                 lambda: {**_board_rows(), "fingerprint": fingerprint})


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def dashboard_poll(request):
    """204 while nothing changed; otherwise the board (with a new fingerprint)."""
    fingerprint = dashboard_fingerprint()
    if request.GET.get("fp") == fingerprint:
        return HttpResponse(status=204)
    return render(request, "incidents/dashboard.html#board", {**_board_rows(), "fingerprint": fingerprint})


# --- lists -----------------------------------------------------------------------------------------

@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def incident_list(request):
    incidents = Incident.objects.select_related("severity", "service", "commander").order_by("-declared_at", "-pk")
    severities = list(SeverityLevel.objects.all())
    status = request.GET.get("status", "")
    severity = request.GET.get("severity", "")
    problems = []
    if status == "open":
        incidents = incidents.filter(status__in=OPEN_STATUSES)
    elif status in Status.values:
        incidents = incidents.filter(status=status)
    elif status:
        problems.append(f"“{status}” is not a status; showing every status.")
        status = ""
    if severity:
        level = next((s for s in severities if str(s.pk) == severity or s.name.lower() == severity.lower()), None)
        if level is None:
            problems.append(f"“{severity}” is not a severity; showing every severity.")
            severity = ""
        else:
            incidents = incidents.filter(severity=level)
            severity = str(level.pk)
    page = Paginator(incidents, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "incidents/list.html", {
        "page": page, "severities": severities, "statuses": Status.choices, "status": status,
        "severity": severity, "problems": problems, "query": query.urlencode(),
    })


# --- the incident page -----------------------------------------------------------------------------

def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# The severity's and service's long text and JSON the page does not show (the incident's own summary it does).
INCIDENT_UNSHOWN = ("severity__aliases", "severity__examples", "service__description")
PEOPLE = ("commander", "communications_lead", "scribe", "acknowledged_by", "declared_by")


def _incident(pk: int) -> Incident:
    """The incident with its severity and service, and the people in its roles from one more query.

    Joining auth_user five times made PostgreSQL spend ~3 ms planning a one-row query; two short queries cost less.
    """
    incident = get_object_or_404(Incident.objects.select_related("severity", "service").defer(*INCIDENT_UNSHOWN),
                                 pk=pk)
    ids = {getattr(incident, f"{role}_id") for role in PEOPLE} - {None}
    users = get_user_model().objects.in_bulk(ids) if ids else {}
    for role in PEOPLE:
        setattr(incident, role, users.get(getattr(incident, f"{role}_id")))
    return incident


# The poll's one query: the page's version, the runs panel's own version, and whether polling should stop.
_REVISION_SQL = f"SELECT revision, runs_revision, status FROM {Incident._meta.db_table} WHERE id = %s"  # noqa: S608


def _revision(pk: int) -> tuple[int, int, str]:
    """The incident's revision, runs revision and status, or 404: one indexed query written as SQL (compiling a
    queryset for it costs more than running it, and the poll and the page ask it on almost every request)."""
    with connection.cursor() as cursor:
        cursor.execute(_REVISION_SQL, [pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such incident.")
    return row


# What the checklist never shows and would cost to read: the pinned version's snapshot is the whole runbook as JSON
# (decoded per item), and a runbook's body and search text can be pages long.
CHECKLIST_UNSHOWN = (
    "incident_runbook__version__snapshot", "incident_runbook__runbook__body_markdown",
    "incident_runbook__runbook__body_html", "incident_runbook__runbook__search_text",
    "incident_runbook__runbook__summary",
)


def _checklist_groups(incident: Incident) -> list[dict]:
    """Items grouped by attached runbook, then by consecutive phase, in the runbook's order."""
    items = ChecklistItem.objects.filter(incident=incident).select_related(
        "incident_runbook__runbook", "incident_runbook__version", "changed_by"
    ).defer(*CHECKLIST_UNSHOWN).order_by("incident_runbook__attached_at", "incident_runbook_id", "order")
    groups: list[dict] = []
    for item in items:
        if not groups or groups[-1]["link"].pk != item.incident_runbook_id:
            groups.append({"link": item.incident_runbook, "phases": [], "done": 0, "total": 0})
        group = groups[-1]
        if not group["phases"] or group["phases"][-1]["phase"] != item.phase:
            group["phases"].append({"phase": item.phase, "label": Phase(item.phase).label
                                    if item.phase in Phase.values else item.phase, "items": []})
        group["phases"][-1]["items"].append(item)
        group["total"] += 1
        group["done"] += item.state != ChecklistItem.State.OPEN
    return groups


def _timeline(incident: Incident, *, kind: str = "", after: int | None = None, before: int | None = None):
    """The latest events as plain dicts (what the event partial shows, worked out once per row).

    Rows are read as tuples and the template reads dict keys: 200 model instances with their actors, and the
    template engine's attribute lookups on them, cost several times the query itself.
    """
    events = incident.timeline.all()
    if kind:
        events = events.filter(kind=kind)
    if after is not None:
        events = events.filter(pk__gt=after)
    if before is not None:
        events = events.filter(pk__lt=before)
    rows = list(events.order_by("-at", "-pk").values_list(
        "id", "kind", "source", "message", "at", "actor__username", "actor__first_name", "actor__last_name",
    )[: TIMELINE_LIMIT + 1])
    kinds, sources = dict(EventKind.choices), dict(EventSource.choices)
    shown = []
    for pk, kind_, source, message, at, username, first, last in rows[:TIMELINE_LIMIT]:
        who = (f"{first} {last}".strip() or username) if username is not None else (
            sources.get(source, source) if source != EventSource.WEB else "")
        shown.append({"pk": pk, "kind": kind_, "kind_label": kinds.get(kind_, kind_), "iso": iso(at), "hms": hms(at),
                      "who": who, "message": message})
    return shown, len(rows) > TIMELINE_LIMIT


def _page_context(request, incident: Incident, *, after: int | None = None) -> dict[str, Any]:
    kind = request.GET.get("kind", "") or request.POST.get("kind", "")
    if kind not in EventKind.values:
        kind = ""
    before = _int(request.GET.get("before"))
    events, more = _timeline(incident, kind=kind, after=after, before=None if after is not None else before)
    last_id = max((e["pk"] for e in events), default=after or 0)
    groups = _checklist_groups(incident)
    done = sum(g["done"] for g in groups)
    total = sum(g["total"] for g in groups)
    from .paging_views import paging_panel  # it imports this module's helpers
    return {
        "paging": paging_panel(incident),
        "incident": incident, "groups": groups, "items_done": done, "items_total": total,
        "events": events, "more_events": more, "earliest_id": events[-1]["pk"] if events else None,
        "last_event_id": last_id, "kind": kind, "kinds": EventKind.choices,
        "roles": [(key, label, getattr(incident, key)) for key, label in ROLES.items()],
        "statuses": [(s, Status(s).label) for s in incident.allowed_transitions],
        "allowed_statuses": incident.allowed_transitions, "items_open": total - done,
    }


def _controls_context(incident: Incident) -> dict[str, Any]:
    """Choices for the commander's forms (one query each, whatever the size of the incident)."""
    return {
        "severities": SeverityLevel.objects.all(),
        "people": get_user_model().objects.filter(is_active=True).order_by("username"),
    }


def _runs_panel_of(pk: int, status: str) -> Incident:
    """What the runs panel needs of its incident (the pk and whether it is closed), without reading the row."""
    return Incident(pk=pk, status=status)


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def detail(request, pk):
    """From one query while a page rendered for this revision, reader and filter is kept (pagecache.py).

    The runs panel is kept apart, under the runs revision, so a command printing leaves the rest of the kept page.
    """
    revision, runs_revision, status = _revision(pk)

    def context():
        full = _incident(pk)
        context = _page_context(request, full)
        context.update(_controls_context(full))
        context["showing_earlier"] = request.GET.get("before") is not None
        return context

    runs = pagecache.Piece("runs_panel", "incidents/_runs_panel.html", (pk, runs_revision, status == Status.CLOSED),
                           lambda: {"incident": _runs_panel_of(pk, status)})
    return pagecache.render_page(request, "incidents/detail.html", "incident", (pk, revision),
                                 context, shaped_by=(request.GET.get("kind", ""), request.GET.get("before")),
                                 pieces=[runs])


def _live(request, incident: Incident, *, after: int | None, runs_seen: int | None, status: int = 200) -> HttpResponse:
    """The parts of the incident page that change, as out-of-band swaps, plus a fresh poller.

    The runs panel comes too when its version moved past the one the page shows (`runs_seen`), or the incident
    closed (the panel then polls for itself while a run it shows is still going).
    """
    if not incident.is_open and incident.status == Status.CLOSED:
        status = HTMX_STOP_POLLING
    return render(request, "incidents/detail.html#live", _live_context(request, incident, after, runs_seen),
                  status=status)


def _live_context(request, incident: Incident, after: int | None, runs_seen: int | None) -> dict[str, Any]:
    context = _page_context(request, incident, after=after)
    context.update(_controls_context(incident))
    context["oob"] = True
    context["runs_changed"] = runs_seen != incident.runs_revision or incident.status == Status.CLOSED
    return context


@require_GET
def poll(request, pk):
    """Unchanged: 204 after one query. Changed: the fragments that changed. Closed: 286 stops the poll.

    Output of a running command moves only the runs revision: the answer is then the poller and the runs panel
    (one more query), and the header, people, checklists and timeline stay as they are. While the reader is in
    the middle of a form a refresh would reset (`hold=1`, static/js/console.js), only the runs panel comes;
    the rest waits for the next poll without it. Permissions come with the user (accounts/memo.py keeps both for
    reads), so the one query is the revision.
    """
    if not request.user.has_perm("incidents.view_incident"):
        return HttpResponseForbidden()
    revision, runs_revision, status = _revision(pk)
    seen, runs_seen = _int(request.GET.get("rev")), _int(request.GET.get("runs"))
    page_changed = seen != revision and request.GET.get("hold") != "1"
    if not page_changed and runs_seen == runs_revision:
        return HttpResponse(status=HTMX_STOP_POLLING if status == Status.CLOSED else 204)
    if page_changed:
        after = _int(request.GET.get("after"))

        def context():
            incident = _incident(pk)
            incident.runs_revision = runs_revision  # what the panel sent now shows at least; the poller says so
            return _live_context(request, incident, after, runs_seen)

        # The fragments name nobody unless the runs panel comes with them (it shows Cancel to whoever asked):
        # without it, everyone watching with the same permissions, who saw the same events, shares one render.
        runs_come = runs_seen != runs_revision or status == Status.CLOSED
        return pagecache.render_page(
            request, "incidents/detail.html#live", "live", (pk, revision, runs_revision), context,
            shaped_by=(after, runs_seen, request.GET.get("kind", ""), request.GET.get("before")),
            shared=not runs_come, status=HTMX_STOP_POLLING if status == Status.CLOSED else 200)
    kind = request.GET.get("kind", "")
    incident = _runs_panel_of(pk, status)
    incident.revision, incident.runs_revision = seen, runs_revision  # the page keeps the revision it shows
    return render(request, "incidents/detail.html#live-runs", {
        "incident": incident, "oob": True, "kind": kind if kind in EventKind.values else "",
        "last_event_id": _int(request.GET.get("after"), 0),
    })


def _answers(request, incident: Incident) -> dict[str, Any]:
    """After a change on the incident page: its live fragments for htmx, else the page again (with its filter)."""
    url = incident.get_absolute_url()
    kind = request.POST.get("kind")
    if kind in EventKind.values:
        url += f"?kind={kind}"

    def fragments():
        return _live(request, _incident(incident.pk), after=_int(request.POST.get("after")),
                     runs_seen=_int(request.POST.get("runs")))

    return {"fragment": fragments, "back": url}


def _attempt(request, incident: Incident, change) -> HttpResponse:
    return answer_change(request, change, **_answers(request, incident))


@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def acknowledge(request, pk):
    incident = _incident(pk)
    return _attempt(request, incident, lambda: incident.acknowledge(by=request.user))


def _change_from_form(request, pk, form_class, change) -> HttpResponse:
    """Validate `form_class` from the POST, then make `change(incident, cleaned_data)`; say why when refused."""
    incident = _incident(pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return answer_change(request, None, refused=first_error(form), **_answers(request, incident))
    return _attempt(request, incident, lambda: change(incident, form.cleaned_data))


@permission_required("incidents.command_incident", raise_exception=True)
@require_POST
def transition(request, pk):
    return _change_from_form(request, pk, TransitionForm, lambda incident, data: incident.transition(
        data["to"], by=request.user, revision=data["revision"], note=data["note"].strip()))


@permission_required("incidents.command_incident", raise_exception=True)
@require_POST
def change_severity(request, pk):
    return _change_from_form(request, pk, SeverityForm, lambda incident, data: incident.change_severity(
        data["severity"], by=request.user, revision=data["revision"]))


@permission_required("incidents.command_incident", raise_exception=True)
@require_POST
def assign_role(request, pk):
    return _change_from_form(request, pk, RoleForm, lambda incident, data: incident.assign_role(
        data["role"], data["user"], by=request.user, revision=data["revision"]))


@permission_required("incidents.command_incident", raise_exception=True)
@require_POST
def attach(request, pk):
    return _change_from_form(request, pk, AttachForm, lambda incident, data: incident.attach_runbook(
        data["runbook"], by=request.user, revision=data["revision"]))


ATTACH_CHOICES = 8


@require_GET
@permission_required("incidents.command_incident", raise_exception=True)
def attach_search(request, pk):
    """Runbooks to attach, found as the commander types (htmx), or a page of them without JavaScript.

    An empty box offers the runbooks that match the incident's title and symptoms; attached ones are left out.
    """
    incident = _incident(pk)
    q = clean_query(request.GET.get("q"))
    attached = set(incident.runbooks.values_list("runbook_id", flat=True))
    wanted = ATTACH_CHOICES + len(attached)
    if q:
        candidates = list(search_runbooks(q)[:wanted])
    else:
        candidates = [s.runbook for s in _match(f"{incident.title}\n{incident.summary}", limit=wanted)]
    context = {"incident": incident, "q": q, "closed": incident.status == Status.CLOSED,
               "found": [r for r in candidates if r.pk not in attached][:ATTACH_CHOICES]}
    if request.htmx:
        return render(request, "incidents/detail.html#attach-results", context)
    return render(request, "incidents/attach.html", context)


@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def add_note(request, pk):
    return _change_from_form(request, pk, NoteForm, lambda incident, data: incident.add_note(
        data["text"], by=request.user, important=data["important"]))


@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def item_action(request, pk, item_pk):
    incident = _incident(pk)
    item = get_object_or_404(ChecklistItem, pk=item_pk, incident=incident)
    action = request.POST.get("action")
    if action == "tick":
        change = lambda: item.tick(by=request.user)  # noqa: E731
    elif action == "skip":
        change = lambda: item.skip(by=request.user, reason=request.POST.get("reason", ""))  # noqa: E731
    elif action == "reopen":
        change = lambda: item.reopen(by=request.user)  # noqa: E731
    else:
        return answer_change(request, None, refused="Choose tick, skip or undo.", **_answers(request, incident))
    return _attempt(request, incident, change)


@permission_required("incidents.command_incident", raise_exception=True)
@require_POST
def follow_runbook(request, pk, link_pk):
    """Move a checklist pinned to an older runbook version to the latest (IncidentRunbook.follow_current)."""
    incident = _incident(pk)
    link = get_object_or_404(IncidentRunbook, pk=link_pk, incident=incident)
    return _attempt(request, incident, lambda: link.follow_current(by=request.user))
