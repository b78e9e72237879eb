"""The postmortem page and its forms: generate, write sections (autosave with conflicts), key timeline, state,
waiver, milestones, and the exports (Markdown, print). Every htmx form also works as a plain POST.

Permissions: viewers read; responders generate, write and send for review; commanders publish, waive and
correct milestones. Published postmortems are read-only (the models refuse; the page shows no forms).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from runbooks.models import Runbook

from .answers import answer_change
from .forms import first_error
from .forms_postmortem import ActionItemForm, MilestoneForm, SectionForm, WaiverForm
from .models import (
    SECTIONS,
    ActionItem,
    EventKind,
    Incident,
    IncidentError,
    Postmortem,
    PostmortemPolicy,
    PostmortemSection,
    SectionConflict,
    Status,
)
from .models.milestones import DURATIONS, MEASURED_FROM, MILESTONES
from .postmortem_markdown import to_markdown
from .templatetags.postmortem_tags import when

PAGE_SIZE = 50
QUIET_KINDS = (EventKind.POSTMORTEM, EventKind.ACTION)  # written by the postmortem itself: not news for it


def _get_incident(pk: int) -> Incident:
    return get_object_or_404(Incident.objects.select_related("severity", "service"), pk=pk)


def _postmortem(incident: Incident) -> Postmortem | None:
    return Postmortem.objects.select_related("published_by", "waived_by", "generated_by").filter(
        incident=incident).first()


def _page_url(incident: Incident, anchor: str = "") -> str:
    return reverse("incidents:postmortem", args=[incident.pk]) + (f"#{anchor}" if anchor else "")


def action_context(request, incident: Incident, postmortem: Postmortem | None, form=None) -> dict[str, Any]:
    """The action items card: the items, and the form to add one (with its defaults)."""
    runbooks = Runbook.objects.filter(incident_links__incident=incident).order_by("title")
    if form is None:
        form = ActionItemForm(runbooks=runbooks, initial={
            "due_date": ActionItem.default_due_date(incident.severity), "priority": ActionItem.Priority.MEDIUM})
    return {
        "items": list(incident.action_items.for_list()),
        "action_form": form,
        "can_add_items": request.user.has_perm("incidents.respond_incident")
        and not (postmortem and postmortem.is_published),
        "can_change_items": request.user.has_perm("incidents.respond_incident"),
    }


def _context(request, incident: Incident, postmortem: Postmortem | None, **extra) -> dict[str, Any]:
    user = request.user
    sections = {s.key: s for s in postmortem.sections.select_related("updated_by")} if postmortem else {}
    facts = postmortem.facts if postmortem else {}
    excluded = set(postmortem.excluded) if postmortem else set()
    # Times formatted here, once: a big incident's key timeline has over a thousand entries.
    entries = [{**e, "included": e["key"] not in excluded, "hms": when(e["at"], "%H:%M:%S")}
               for e in facts.get("timeline", [])]
    published = bool(postmortem and postmortem.is_published)
    stale = False
    if postmortem and postmortem.generated_at and not published:
        stale = incident.timeline.filter(at__gt=postmortem.generated_at).exclude(kind__in=QUIET_KINDS).exists()
    moves = []
    if postmortem and postmortem.generated_at:
        for to in Postmortem.MOVES[postmortem.state]:
            perm = "incidents.command_incident" if to == Postmortem.State.PUBLISHED else "incidents.respond_incident"
            if user.has_perm(perm):
                moves.append((to, {"in_review": "Send for review", "draft": "Back to draft",
                                   "published": "Publish"}[to]))
    policy = PostmortemPolicy.current()
    required = policy.required_because(incident)
    context = {
        "incident": incident, "postmortem": postmortem, "facts": facts, "entries": entries,
        "entries_url": reverse("incidents:postmortem_entries", args=[incident.pk]),
        "sections": [(s, sections.get(s.key)) for s in SECTIONS],
        "published": published, "stale": stale, "moves": moves, "required": required,
        "closing_needs": PostmortemPolicy.closing_needs(incident) if incident.status == Status.RESOLVED else [],
        "can_write": user.has_perm("incidents.respond_incident") and not published,
        "can_command": user.has_perm("incidents.command_incident"),
        "milestones": incident.milestone_rows(), "durations": incident.duration_rows(),
        "milestone_defs": MILESTONES, "duration_defs": DURATIONS, "measured_from": MEASURED_FROM,
        "conflict": None, "kept_key": None, "kept_text": "", "kept_version": "",
    }
    context.update(action_context(request, incident, postmortem))
    context.update(extra)
    return context


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def postmortem_page(request, pk):
    incident = _get_incident(pk)
    return render(request, "incidents/postmortem/page.html", _context(request, incident, _postmortem(incident)))


def _attempt(request, incident: Incident, change, success: str = "", anchor: str = "") -> HttpResponse:
    """Make the change and go back to the postmortem page, htmx or not (it has no fragment for these)."""
    url = _page_url(incident, anchor)
    return answer_change(request, change, success=success, fragment=lambda: redirect(url), back=url)


@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def generate(request, pk):
    incident = _get_incident(pk)
    return _attempt(request, incident, lambda: Postmortem.generate(incident, by=request.user),
                    "Drafted from the record; what people wrote is kept.")


@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def save_section(request, pk, key):
    """Autosave (htmx: answers the section's status line) or Save (plain POST: back to the page)."""
    incident = _get_incident(pk)
    postmortem = get_object_or_404(Postmortem, incident=incident)
    if key not in {s.key for s in SECTIONS}:
        return _section_answer(request, incident, postmortem, key, error="There is no such section.", status=404)
    form = SectionForm(request.POST)
    text = request.POST.get("text", "")
    if not form.is_valid():
        return _section_answer(request, incident, postmortem, key, error=first_error(form), text=text, status=400)
    data = form.cleaned_data
    version = data["version"]
    if data["overwrite"]:  # "Save mine over theirs", after seeing theirs: the version they saw is the base now
        version = data["overwrite"]
    try:
        section = postmortem.save_section(key, data["text"], version=version, by=request.user)
    except SectionConflict as exc:
        return _section_answer(request, incident, postmortem, key, conflict=exc, text=text, status=409)
    except IncidentError as exc:
        return _section_answer(request, incident, postmortem, key, error=str(exc), text=text, status=400)
    if request.htmx:
        return render(request, "incidents/postmortem/page.html#section-saved", {
            "incident": incident, "s": section, "saved": True})
    messages.success(request, f"Saved “{section.title}”.")
    return redirect(_page_url(incident, f"section-{key}"))


def _section_answer(request, incident, postmortem, key, *, error: str = "", conflict: SectionConflict | None = None,
                    text: str = "", status: int) -> HttpResponse:
    """A refused save: for htmx the status line says why (the person's text stays in their box); without
    JavaScript the whole page again, with their text in the box, so nothing typed is lost."""
    section = conflict.section if conflict else PostmortemSection.objects.filter(
        postmortem=postmortem, key=key).select_related("updated_by").first()
    if request.htmx:
        # 200: htmx swaps only successful answers, and this one must be seen.
        return render(request, "incidents/postmortem/page.html#section-status", {
            "incident": incident, "s": section, "error": error, "conflict": conflict, "key": key})
    if error:
        messages.error(request, error)
    context = _context(request, incident, postmortem, kept_key=key, kept_text=text,
                       kept_version=request.POST.get("version", ""),
                       conflict={"key": key, "message": str(conflict)} if conflict else None)
    return render(request, "incidents/postmortem/page.html", context, status=status)


@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def choose_entries(request, pk):
    """Keep or remove key timeline entries: one ticked box (htmx, `entry`), or the whole list (plain form)."""
    incident = _get_incident(pk)
    postmortem = get_object_or_404(Postmortem, incident=incident)
    keep = set(request.POST.getlist("keep"))
    try:
        if request.POST.get("entry"):
            entry = request.POST["entry"]
            postmortem.set_included(entry, entry in keep, by=request.user)
        else:
            for entry in [e["key"] for e in postmortem.facts.get("timeline", [])]:
                if (entry in keep) == (entry in postmortem.excluded):
                    postmortem.set_included(entry, entry in keep, by=request.user)
    except IncidentError as exc:
        if request.htmx:
            return HttpResponse(f'<p class="message message-error">{escape(str(exc))}</p>')
        messages.error(request, str(exc))
        return redirect(_page_url(incident, "key-timeline"))
    if request.htmx:
        return HttpResponse("Saved")
    messages.success(request, "Key timeline updated.")
    return redirect(_page_url(incident, "key-timeline"))


@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def move(request, pk):
    incident = _get_incident(pk)
    postmortem = get_object_or_404(Postmortem, incident=incident)
    to = request.POST.get("to", "")
    if to == Postmortem.State.PUBLISHED and not request.user.has_perm("incidents.command_incident"):
        messages.error(request, "Only a commander can publish a postmortem.")
        return redirect(_page_url(incident))
    label = {"in_review": "Sent for review.", "draft": "Back to draft.", "published": "Published."}.get(to, "")
    return _attempt(request, incident, lambda: postmortem.move(to, by=request.user), label)


@permission_required("incidents.command_incident", raise_exception=True)
@require_POST
def waive(request, pk):
    incident = _get_incident(pk)
    form = WaiverForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(_page_url(incident, "waive"))
    return _attempt(request, incident, lambda: Postmortem.waive(incident, by=request.user,
                                                                reason=form.cleaned_data["reason"]),
                    "Postmortem waived; the reason is on the timeline.")


@permission_required("incidents.command_incident", raise_exception=True)
@require_POST
def edit_milestone(request, pk):
    """Correct a milestone; a draft postmortem is regenerated so its figures follow (written sections kept)."""
    incident = _get_incident(pk)
    form = MilestoneForm(request.POST)
    back = request.POST.get("next") == "incident"
    url = incident.get_absolute_url() if back else _page_url(incident, "milestones")
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(url)
    data = form.cleaned_data
    try:
        incident.edit_milestone(data["milestone"], data["at"], by=request.user, reason=data["reason"])
        postmortem = Postmortem.objects.filter(incident=incident).first()
        if postmortem and postmortem.generated_at and not postmortem.is_published:
            Postmortem.generate(incident, by=request.user)
    except IncidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Milestone changed; the change and its reason are on the timeline.")
    return redirect(url)


# --- action items from the postmortem page ----------------------------------------------------------

@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def add_action(request, pk):
    incident = _get_incident(pk)
    postmortem = _postmortem(incident)
    runbooks = Runbook.objects.filter(incident_links__incident=incident).order_by("title")
    form = ActionItemForm(request.POST, runbooks=runbooks)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            ActionItem.raise_item(incident, description=data["description"], owner=data["owner"],
                                  due_date=data["due_date"], priority=data["priority"], runbook=data["runbook"],
                                  by=request.user)
        except IncidentError as exc:
            error = str(exc)
        else:
            form = None
    else:
        error = first_error(form)
    if request.htmx:
        context = {"incident": incident, "postmortem": postmortem, "action_error": error,
                   **action_context(request, incident, postmortem, form)}
        return render(request, "incidents/postmortem/page.html#actions-card", context)
    if error:  # the page again with what they typed
        messages.error(request, error)
        return render(request, "incidents/postmortem/page.html",
                      _context(request, incident, postmortem, action_error=error,
                               **action_context(request, incident, postmortem, form)), status=400)
    messages.success(request, "Action item added.")
    return redirect(_page_url(incident, "actions"))


# --- exports and history ------------------------------------------------------------------------------

@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def markdown_export(request, pk):
    incident = _get_incident(pk)
    postmortem = _postmortem(incident)
    if postmortem is None or not postmortem.generated_at:
        messages.error(request, "There is no postmortem draft to export yet: generate it first.")
        return redirect(_page_url(incident))
    text = to_markdown(incident, postmortem, list(postmortem.sections.all()),
                       list(incident.action_items.for_list()))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    name = slugify(incident.title)[:60] or "incident"
    response["Content-Disposition"] = f'attachment; filename="postmortem-{incident.pk}-{name}.md"'
    return response


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def print_page(request, pk):
    incident = _get_incident(pk)
    postmortem = _postmortem(incident)
    if postmortem is None or not postmortem.generated_at:
        messages.error(request, "There is no postmortem draft to print yet: generate it first.")
        return redirect(_page_url(incident))
    context = _context(request, incident, postmortem)
    context["entries"] = [e for e in context["entries"] if e["included"]]
    context["printing"] = True
    return render(request, "incidents/postmortem/print.html", context)


@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def history(request, pk):
    incident = _get_incident(pk)
    postmortem = Postmortem.objects.filter(incident=incident).first()
    revisions = postmortem.revisions.select_related("by").order_by("-at", "-pk") if postmortem else \
        Postmortem.objects.none()
    page = Paginator(revisions, PAGE_SIZE).get_page(request.GET.get("page"))
    titles = {s.key: s.title for s in SECTIONS}
    return render(request, "incidents/postmortem/history.html", {
        "incident": incident, "postmortem": postmortem, "page": page, "titles": titles})


# --- the list of postmortems ------------------------------------------------------------------------------

@require_GET
@permission_required("incidents.view_incident", raise_exception=True)
def postmortem_list(request):
    """Resolved and closed incidents, each with its postmortem's state and its open action items (one query)."""
    pm = Postmortem.objects.filter(incident=OuterRef("pk"))
    open_items = ActionItem.objects.filter(incident=OuterRef("pk"), status=ActionItem.Status.OPEN).order_by() \
        .values("incident").annotate(n=Count("pk")).values("n")
    incidents = Incident.objects.filter(status__in=[Status.RESOLVED, Status.CLOSED]) \
        .select_related("severity", "service").annotate(
            pm_state=Subquery(pm.values("state")[:1]), pm_waived=Subquery(pm.values("waived_at")[:1]),
            open_items=Subquery(open_items, output_field=IntegerField())).order_by("-resolved_at", "-pk")
    state = request.GET.get("state", "")
    problems = []
    if state == "missing":
        incidents = incidents.filter(Q(postmortem__isnull=True) | Q(postmortem__generated_at__isnull=True))
    elif state in Postmortem.State.values:
        incidents = incidents.filter(postmortem__state=state)
    elif state:
        problems.append(f"“{state}” is not a postmortem state; showing every one.")
        state = ""
    page = Paginator(incidents, PAGE_SIZE).get_page(request.GET.get("page"))
    policy = PostmortemPolicy.current()
    required_ids = policy.required_severity_ids()
    for incident in page:
        incident.pm_required = policy.required_because(incident, severity_ids=required_ids)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "incidents/postmortems.html", {
        "page": page, "state": state, "states": Postmortem.State.choices, "problems": problems,
        "query": query.urlencode(), "measured_from": MEASURED_FROM})
