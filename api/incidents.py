"""/api/v1/incidents/: list, create and read incidents; acknowledge, move, note; the checklist.

Every change calls the model method the incident page calls (same timeline events, same checks), after the
same permission the page's view requires.
"""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import get_object_or_404
from ninja import Query, Router
from pydantic import BaseModel, Field

from incidents.models import OPEN_STATUSES, Alert, ChecklistItem, Incident, Status
from incidents.models.postmortem import SECTIONS
from runbooks.models import Runbook, Service, SeverityLevel

from .core import ApiError, idempotent, need, user_token
from .schemas import (
    AlertsOut,
    ChecklistItemOut,
    Error,
    IncidentCreate,
    IncidentDetail,
    IncidentList,
    IncidentOut,
    NoteIn,
    NoteOut,
    PostmortemOut,
    SkipIn,
    StatusChange,
    text,
)

router = Router(auth=user_token, tags=["incidents"])
ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 429: Error}
CHANGE_ERRORS = {**ERRORS, 409: Error}
MAX_LIMIT = 100


def _name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


def _person(user) -> dict | None:
    return None if user is None else {"username": user.get_username(), "name": _name(user)}


def incident_out(incident: Incident, request) -> dict:
    return {
        "id": incident.pk, "title": incident.title, "status": incident.status, "severity": incident.severity.name,
        "service": incident.service.name if incident.service_id else None, "commander": _person(incident.commander),
        "declared_at": incident.declared_at, "acknowledged_at": incident.acknowledged_at,
        "resolved_at": incident.resolved_at, "revision": incident.revision,
        "url": request.build_absolute_uri(incident.get_absolute_url()),
    }


def _get(pk: int) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("severity", "service", "commander", "acknowledged_by"), pk=pk)


class IncidentFilter(BaseModel):
    status: text(0, 50) | None = Field(default=None, description="A status, or 'open' for every open one")
    severity: text(0, 100) | None = Field(default=None, description="A severity level's name or alias")
    service: text(0, 200) | None = Field(default=None, description="A service's name")
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@router.get("/", response={200: IncidentList, **ERRORS}, url_name="incidents")
def list_incidents(request, filters: Query[IncidentFilter]):
    """Incidents, newest first; filter by status (or `open`), severity (name or alias) and service."""
    need(request, "incidents.view_incident", "read incidents")
    incidents = Incident.objects.select_related("severity", "service", "commander").order_by("-declared_at", "-pk")
    if filters.status == "open":
        incidents = incidents.filter(status__in=OPEN_STATUSES)
    elif filters.status:
        if filters.status not in Status.values:
            raise ApiError(400, f"“{filters.status}” is not a status: use open or one of {', '.join(Status.values)}.")
        incidents = incidents.filter(status=filters.status)
    if filters.severity:
        level = SeverityLevel.lookup(filters.severity)
        if level is None:
            raise ApiError(400, f"“{filters.severity}” is not a severity level's name or alias.")
        incidents = incidents.filter(severity=level)
    if filters.service:
        incidents = incidents.filter(service__name__iexact=filters.service)
    rows = list(incidents[filters.offset:filters.offset + filters.limit])
    return {"count": incidents.count(), "limit": filters.limit, "offset": filters.offset,
            "results": [incident_out(i, request) for i in rows]}


@router.post("/", response={201: IncidentOut, **CHANGE_ERRORS, 422: Error}, url_name="incidents_create")
def create_incident(request, payload: IncidentCreate):
    """Declare an incident; `severity` is a level's name or alias (`SEV1`, `P1`, `Critical`). Send an
    `Idempotency-Key` header to make retries safe."""
    need(request, "incidents.add_incident", "declare incidents")

    def create():
        severity = SeverityLevel.lookup(payload.severity)
        if severity is None:
            names = ", ".join(SeverityLevel.objects.values_list("name", flat=True)) or "none exist yet"
            raise ApiError(400, f"“{payload.severity}” is not a severity level's name or alias ({names}).")
        service = None
        if payload.service:
            service = Service.objects.filter(name__iexact=payload.service.strip()).first()
            if service is None:
                raise ApiError(400, f"There is no service “{payload.service}”.")
        runbooks = []
        for ref in payload.runbooks:
            runbook = Runbook.objects.filter(Q(slug=ref) | Q(key=ref)).first()
            if runbook is None:
                raise ApiError(400, f"There is no runbook “{ref}” (give its slug or key).")
            runbooks.append(runbook)
        commander = request.user if request.user.has_perm("incidents.command_incident") else None
        incident = Incident.declare(title=payload.title, severity=severity, service=service, summary=payload.summary,
                                    by=request.user, commander=commander, runbooks=list(dict.fromkeys(runbooks)))
        return 201, IncidentOut(**incident_out(_get(incident.pk), request)).model_dump(mode="json")

    return idempotent(request, create)


@router.get("/{incident_id}/", response={200: IncidentDetail, **ERRORS}, url_name="incident")
def get_incident(request, incident_id: int):
    """One incident with its milestones, attached runbooks, checklist and alerts."""
    need(request, "incidents.view_incident", "read incidents")
    incident = _get(incident_id)
    links = incident.runbooks.select_related("runbook", "version").order_by("attached_at", "pk")
    firing, resolved = Alert.objects.filter(incident=incident).counts()
    alerts = Alert.objects.filter(incident=incident).order_by("-last_seen_at", "-pk")[:100]
    return {
        **incident_out(incident, request),
        "summary": incident.summary, "acknowledged_by": _name(incident.acknowledged_by),
        "milestones": {f: getattr(incident, f) for f in (
            "impact_started_at", "detected_at", "declared_at", "acknowledged_at", "investigating_at", "identified_at",
            "mitigated_at", "resolved_at", "closed_at")},
        "runbooks": [{"slug": link.runbook.slug, "title": link.runbook.title, "version": link.version.number,
                      "attached_at": link.attached_at} for link in links],
        "checklist": _checklist(incident),
        "alerts": AlertsOut(firing=firing, resolved=resolved, items=[{
            "fingerprint": a.fingerprint, "name": a.name, "status": a.status, "summary": a.summary,
            "labels": a.labels, "starts_at": a.starts_at, "resolved_at": a.resolved_at, "seen_count": a.seen_count,
            "last_seen_at": a.last_seen_at} for a in alerts]),
    }


def _checklist(incident: Incident) -> list[dict]:
    items = ChecklistItem.objects.filter(incident=incident).select_related(
        "incident_runbook__runbook", "changed_by").order_by("incident_runbook__attached_at", "incident_runbook_id",
                                                            "order")
    return [_checklist_row(i) for i in items]


@router.post("/{incident_id}/acknowledge/", response={200: IncidentOut, **CHANGE_ERRORS},
             url_name="incident_acknowledge")
def acknowledge(request, incident_id: int):
    """Acknowledge: someone is on it (409 when it already was)."""
    need(request, "incidents.respond_incident", "acknowledge incidents")
    incident = _get(incident_id)
    incident.acknowledge(by=request.user)
    return incident_out(_get(incident_id), request)


@router.post("/{incident_id}/status/", response={200: IncidentOut, **CHANGE_ERRORS},
             url_name="incident_status")
def change_status(request, incident_id: int, payload: StatusChange):
    """Move the incident, e.g. `{"status": "resolved"}`; 409 when that move is not allowed from where it is."""
    need(request, "incidents.command_incident", "change an incident's status")
    incident = _get(incident_id)
    if payload.status == incident.status:
        raise ApiError(409, f"The incident is already {incident.get_status_display().lower()}.")
    incident.transition(payload.status, by=request.user, note=payload.note)
    return incident_out(_get(incident_id), request)


@router.post("/{incident_id}/notes/", response={201: NoteOut, **CHANGE_ERRORS, 422: Error},
             url_name="incident_notes")
def add_note(request, incident_id: int, payload: NoteIn):
    """Add a note to the timeline. Send an `Idempotency-Key` header to make retries safe."""
    need(request, "incidents.respond_incident", "add notes")
    incident = _get(incident_id)

    def create():
        event = incident.add_note(payload.text, by=request.user)
        return 201, NoteOut(id=event.pk, incident=incident.pk, text=event.message, at=event.at,
                            by=_name(request.user)).model_dump(mode="json")

    return idempotent(request, create)


@router.get("/{incident_id}/checklist/", response={200: list[ChecklistItemOut], **ERRORS},
            url_name="incident_checklist")
def checklist(request, incident_id: int):
    """The checklist items of every attached runbook, in order."""
    need(request, "incidents.view_incident", "read incidents")
    return _checklist(_get(incident_id))


def _item(incident_id: int, item_id: int) -> ChecklistItem:
    return get_object_or_404(ChecklistItem.objects.select_related("incident_runbook__runbook"),
                             pk=item_id, incident_id=incident_id)


def _item_out(item: ChecklistItem) -> dict:
    item = ChecklistItem.objects.select_related("incident_runbook__runbook", "changed_by").get(pk=item.pk)
    return _checklist_row(item)


def _checklist_row(i: ChecklistItem) -> dict:
    return {"id": i.pk, "runbook": i.incident_runbook.runbook.slug, "order": i.order, "phase": i.phase,
            "heading": i.heading, "text": i.label, "state": i.state, "skip_reason": i.skip_reason,
            "changed_by": _name(i.changed_by), "changed_at": i.changed_at}


@router.post("/{incident_id}/checklist/{item_id}/tick/", response={200: ChecklistItemOut, **CHANGE_ERRORS},
             url_name="checklist_tick")
def tick(request, incident_id: int, item_id: int):
    """Mark a checklist item done (409 when someone already ticked or skipped it)."""
    need(request, "incidents.respond_incident", "tick checklist items")
    item = _item(incident_id, item_id)
    item.tick(by=request.user)
    return _item_out(item)


@router.post("/{incident_id}/checklist/{item_id}/skip/", response={200: ChecklistItemOut, **CHANGE_ERRORS},
             url_name="checklist_skip")
def skip(request, incident_id: int, item_id: int, payload: SkipIn):
    """Skip a checklist item, saying why."""
    need(request, "incidents.respond_incident", "skip checklist items")
    item = _item(incident_id, item_id)
    item.skip(by=request.user, reason=payload.reason)
    return _item_out(item)


@router.get("/{incident_id}/postmortem/", response={200: PostmortemOut, **ERRORS}, url_name="incident_postmortem")
def postmortem(request, incident_id: int):
    """The incident's postmortem, when one has been drafted: its sections, action items and the Markdown export."""
    from incidents.models import Postmortem
    from incidents.postmortem_markdown import to_markdown

    need(request, "incidents.view_incident", "read postmortems")
    incident = _get(incident_id)
    found = Postmortem.objects.select_related("published_by").filter(incident=incident).first()
    if found is None or not found.generated_at:
        raise ApiError(404, f"Incident #{incident.pk} has no postmortem yet: draft one on its postmortem page.")
    order = {s.key: n for n, s in enumerate(SECTIONS)}
    sections = sorted(found.sections.select_related("updated_by"), key=lambda s: order.get(s.key, len(order)))
    items = list(incident.action_items.for_list())
    titles = {s.key: s.title for s in SECTIONS}
    return {
        "incident": incident.pk, "state": found.state, "drafted_at": found.generated_at,
        "published_at": found.published_at, "published_by": _name(found.published_by),
        "waived": found.waived_at is not None, "waiver_reason": found.waiver_reason,
        "sections": [{"key": s.key, "title": titles.get(s.key, s.key), "text": s.text, "drafted": s.generated,
                      "updated_by": _name(s.updated_by), "updated_at": s.updated_at} for s in sections],
        "action_items": [{"id": i.pk, "description": i.description, "owner": _name(i.owner), "due_date": i.due_date,
                          "priority": i.get_priority_display().lower(), "status": i.status, "reason": i.reason,
                          "runbook": i.runbook.slug if i.runbook_id else None} for i in items],
        "markdown": to_markdown(incident, found, sections, items),
    }
