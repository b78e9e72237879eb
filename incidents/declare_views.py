"""The declare page: one box for what you see, runbooks suggested as you type, the incident that may be this one.

A pasted error, an alert name or a description goes into one box. The runbooks that match appear beside it; the
top one is ticked when it matched on an alert name or an error pattern (a strong signal; words alone are not).
The title may be left empty: it is made from the alert name, else the first line of the text. An open incident
that looks like the same problem (same alert, same runbook, a similar title) is offered to join instead.
Suggestion requests are GETs without the CSRF token (`hx-params` leaves it out of the URL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from runbooks.matching import match_runbooks, words
from runbooks.models import Runbook, SeverityLevel

from .forms import DeclareForm
from .models import OPEN_STATUSES, Alert, Incident, IncidentError, IncidentRunbook
from .titles import title_problem

TITLE_FROM_TEXT = 120  # a title made from the pasted text is cut at a word near here
SIMILAR_LIMIT = 3
SIMILAR_SCAN = 200  # open incidents whose titles are compared (the most recent)


@dataclass
class Suggestion:
    runbook: Runbook
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    checked: bool = False
    strong: bool = False  # matched on an alert name or an error pattern

    @property
    def alert_name(self) -> str:
        return next((r.removeprefix("alert name ") for r in self.reasons if r.startswith("alert name ")), "")


def _strong(reasons: list[str]) -> bool:
    return any(r.startswith(("alert name ", "error pattern ")) for r in reasons)


def _match(text: str, limit: int = 5) -> list[Suggestion]:
    text = text.strip()
    if not text:
        return []
    return [Suggestion(m.runbook, m.score, list(m.reasons), strong=_strong(m.reasons))
            for m in match_runbooks(text, limit=limit)]


def _ids(data, name: str) -> set[int]:
    return {int(v) for v in data.getlist(name) if v.isdigit() and len(v) < 12}


@dataclass
class Suggested:
    """What the suggestions box shows: the runbooks, which one was ticked for the person, which they unticked."""

    suggestions: list[Suggestion]
    auto: int | None = None
    declined: set[int] = field(default_factory=set)


def _suggestions(text: str, data, *, preselect: bool = True) -> Suggested:
    """Runbooks matching the text, plus the ones already chosen (kept, ticked, whatever the text says).

    The top one is ticked for the person when it matched strongly; `auto` (sent back by the box) names the one
    ticked so, so that unticking it sticks (`declined`) while they go on typing.
    """
    selected = _ids(data, "runbooks")
    declined = _ids(data, "declined")
    if preselect:
        previous_auto = _ids(data, "auto")
        declined |= previous_auto - selected  # ticked for them, unticked by them: not ticked again
        selected -= previous_auto  # decided afresh below
    suggestions = _match(text)
    shown = {s.runbook.pk for s in suggestions}
    if missing := selected - shown:
        suggestions += [Suggestion(r, reasons=["chosen"]) for r in Runbook.objects.filter(pk__in=missing)]
    auto = None
    if preselect and suggestions and suggestions[0].strong and suggestions[0].runbook.pk not in declined:
        auto = suggestions[0].runbook.pk
        selected.add(auto)
    for s in suggestions:
        s.checked = s.runbook.pk in selected
    return Suggested(suggestions, auto, declined & shown)


def _text(data) -> str:
    return "\n".join(v for v in (data.get("title", ""), data.get("symptoms", "")) if v)


def title_from(symptoms: str, suggestions: list[Suggestion]) -> str:
    """A title for an incident declared without one: the alert name a chosen runbook matched, else the first line
    of the text, cut at a word."""
    for s in suggestions:
        if s.checked and s.alert_name:
            return s.alert_name
    line = next((ln.strip() for ln in symptoms.splitlines() if ln.strip()), "")
    line = "".join(ch for ch in line if ch.isprintable())
    if len(line) > TITLE_FROM_TEXT:
        cut = line[:TITLE_FROM_TEXT].rsplit(" ", 1)[0] or line[:TITLE_FROM_TEXT]
        line = cut.rstrip(" ,.;:") + "…"
    return "" if title_problem(line) else line


@dataclass
class Similar:
    incident: Incident
    why: str


def similar_open(text: str, suggestions: list[Suggestion], *, exclude: int | None = None) -> list[Similar]:
    """Open incidents that look like the same problem: the same alert, one of the runbooks ticked, or a title
    sharing most of its words with the text. Three queries, whatever the number of incidents."""
    found: dict[int, Similar] = {}
    alert_names = {s.alert_name for s in suggestions if s.alert_name}
    base = Incident.objects.filter(status__in=OPEN_STATUSES).select_related("severity").only(
        "pk", "title", "status", "declared_at", "severity__name", "severity__rank")
    if alert_names:
        for alert in Alert.objects.filter(incident__status__in=OPEN_STATUSES, name__in=alert_names) \
                .select_related("incident__severity").order_by("-last_seen_at")[:SIMILAR_LIMIT]:
            found.setdefault(alert.incident_id, Similar(alert.incident, f"alert {alert.name} is firing on it"))
    ticked = {s.runbook.pk: s.runbook.title for s in suggestions if s.checked}
    if ticked:
        for link in IncidentRunbook.objects.filter(incident__status__in=OPEN_STATUSES, runbook_id__in=ticked) \
                .select_related("incident__severity").order_by("-attached_at")[:SIMILAR_LIMIT]:
            found.setdefault(link.incident_id, Similar(link.incident, f"it follows “{ticked[link.runbook_id]}”"))
    said = set(words(text))
    if said:
        for incident in base.order_by("-declared_at")[:SIMILAR_SCAN]:
            title_words = set(words(incident.title))
            if len(title_words) >= 2 and len(title_words & said) * 3 >= len(title_words) * 2:
                found.setdefault(incident.pk, Similar(incident, "its title is much like what you wrote"))
    found.pop(exclude, None)
    return list(found.values())[:SIMILAR_LIMIT]


def _box(text: str, data, *, preselect: bool = True) -> dict[str, Any]:
    suggested = _suggestions(text, data, preselect=preselect)
    return {"suggestions": suggested.suggestions, "auto": suggested.auto, "declined": sorted(suggested.declined),
            "text": text, "similar": similar_open(text, suggested.suggestions) if text.strip() else []}


@permission_required("incidents.add_incident", raise_exception=True)
def declare(request):
    show_errors = False
    if request.method == "POST":
        form = DeclareForm(request.POST)
        text = _text(request.POST)
        box = _box(text, request.POST, preselect="suggest" in request.POST)
        if "suggest" not in request.POST:
            show_errors = True
            if form.is_valid():
                data = form.cleaned_data
                title = data["title"].strip() or title_from(data["symptoms"], box["suggestions"])
                commander = request.user if request.user.has_perm("incidents.command_incident") else None
                try:
                    incident = Incident.declare(
                        title=title, severity=data["severity"], service=data["service"],
                        summary=data["symptoms"], by=request.user, commander=commander,
                        runbooks=list(data["runbooks"]), acknowledged=True,
                    )
                except IncidentError as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, f"Declared {incident}.")
                    return redirect(incident)
    else:
        initial: dict[str, Any] = {}
        query = request.GET.copy()
        slug = request.GET.get("runbook")
        if slug:
            runbook = Runbook.objects.select_related("service").filter(slug=slug).first()
            if runbook is None:
                messages.error(request, f"There is no runbook “{slug}”.")
            else:
                query.appendlist("runbooks", str(runbook.pk))
                if runbook.service_id:
                    initial["service"] = runbook.service_id
        for name in ("title", "symptoms"):
            if request.GET.get(name):
                initial[name] = request.GET[name][:10_000]
        form = DeclareForm(initial=initial)
        text = _text(request.GET)
        box = _box(text, query)
    return render(request, "incidents/declare.html", {
        "form": form, "show_errors": show_errors, "severities": SeverityLevel.objects.all(), **box,
    })


@require_GET
@permission_required("incidents.add_incident", raise_exception=True)
def declare_suggest(request):
    """The runbook suggestions as the person types (htmx); without JS the form's Suggest button does this."""
    if not request.htmx:
        query = request.GET.copy()
        query.pop("csrfmiddlewaretoken", None)  # never carried on in a URL
        return redirect(f"{reverse('incidents:declare')}?{query.urlencode()}")
    text = _text(request.GET)
    return render(request, "incidents/declare.html#suggestions", _box(text, request.GET))
