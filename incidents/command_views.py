"""Dispatching, approving, streaming and cancelling command runs from the incident page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents.execution.redaction import strip_terminal_codes
from runbooks import languages

from .answers import answer_change
from .forms_commands import CommandRunForm
from .models import ChecklistItem, CommandRun, Incident, IncidentError
from .models.runs import AlreadyStarted


def _incident(pk: int) -> Incident:
    return get_object_or_404(Incident.objects.select_related("severity", "service"), pk=pk)


def _run(incident: Incident, run_pk: int) -> CommandRun:
    return get_object_or_404(
        CommandRun.objects.select_related("requested_by", "approved_by", "target", "checklist_item"),
        pk=run_pk, incident=incident,
    )


def _runs_url(incident: Incident) -> str:
    return reverse("incidents:detail", args=[incident.pk]) + "#runs"


def _panel(request, incident: Incident):
    """The runs panel: the fragment alone for htmx, a page holding it otherwise.

    The fragment polls for itself when asked by a panel that does (a GET: only those ask), or when a form in one
    posted (`standalone`); on the incident page the page's poll brings it. It shows the error a change met;
    a success shows as the panel itself.
    """
    if not request.htmx:
        return render(request, "incidents/runs/list.html", {"incident": incident})
    # What the change said, read here so it is not shown again on the next page.
    said = list(messages.get_messages(request)) if request.method == "POST" else []
    error = next((str(m) for m in said if m.level == messages.ERROR), "")
    standalone = request.method == "GET" or request.POST.get("standalone") == "1"
    return render(request, "incidents/_runs_panel.html",
                  {"incident": incident, "runs_error": error, "standalone": standalone})


def _answer(request, incident: Incident, change, success) -> HttpResponse:
    return answer_change(request, change, success=success, fragment=lambda: _panel(request, incident),
                         back=_runs_url(incident))


@permission_required("incidents.run_command", raise_exception=True)
def run_new(request, pk, item_pk, index):
    """Fill in a command's parameters, see exactly what will run, then dispatch it.

    From the incident page (htmx) it all happens in place, under the step: a command without parameters shows at
    once what will run and on which target (one click), and a second click runs it; with parameters the form
    opens there. The target's allow-list is asked before anything is queued. This page serves the same without
    JavaScript.
    """
    incident = _incident(pk)
    item = get_object_or_404(ChecklistItem.objects.select_related("incident_runbook__runbook",
                                                                  "incident_runbook__version"),
                             pk=item_pk, incident=incident)
    in_place = bool(request.htmx)
    if index >= len(item.commands):  # a stale link, e.g. to a step whose runbook changed: say so on the incident
        if in_place:
            return render(request, "incidents/runs/_in_place.html", {"gone": True})
        messages.error(request, "That step has no such command to run.")
        return redirect(incident)
    command = item.commands[index]
    runnable = languages.is_runnable(command.get("language"))
    form = CommandRunForm(request.POST or None, item=item, index=index)
    if request.method == "GET" and in_place and runnable and not form.parameters \
            and form.fields["target"].initial is not None:
        # Nothing to fill in: show what will run on the default target now (the first click).
        form = CommandRunForm({"target": form.fields["target"].initial}, item=item, index=index)
    plan, refused = None, ""
    if form.is_bound and runnable and form.is_valid():
        plan = form.plan
        plan.needs_approval = CommandRun.needs_second_person(incident, plan)
        refused = form.cleaned_data["target"].refusal(plan.script, languages.normalise(command.get("language")))
        token = form.cleaned_data["previewed"]
        if request.POST.get("action") == "dispatch" and form.previewed_script_digest(token) != form.digest(plan.script):
            form.add_error(None, "What will run changed since you looked at it: check it again, then run it.")
        elif request.POST.get("action") == "dispatch" and not refused:
            try:
                run = CommandRun.request(
                    item=item, index=index, values=form.values(), by=request.user,
                    target=form.cleaned_data["target"], understood_destructive=form.cleaned_data["understood"],
                    preview_token=token,
                )
            except AlreadyStarted as exc:
                if in_place:
                    return _dispatched(request, incident)
                messages.info(request, str(exc))
                return redirect(_runs_url(incident))
            except IncidentError as exc:
                form.add_error(None, str(exc))
            else:
                if in_place:  # the run shows under its step, from the runs panel sent with it
                    return _dispatched(request, incident)
                if run.state == CommandRun.State.AWAITING_APPROVAL:
                    messages.success(request, f"Run #{run.pk} is waiting for a second person to approve it.")
                else:
                    messages.success(request, f"Run #{run.pk} is queued on {run.target.name}.")
                return redirect(_runs_url(incident))
    context = {
        "incident": incident, "item": item, "index": index, "command": command, "form": form, "plan": plan,
        "runnable": runnable, "no_targets": not form.fields["target"].queryset.exists(), "refused": refused,
        "preview_token": form.preview_token(plan.script) if plan else "",
        "slot": f"run-slot-{item.pk}-{index}",
    }
    return render(request, "incidents/runs/_in_place.html" if in_place else "incidents/runs/new.html", context)


def _dispatched(request, incident: Incident) -> HttpResponse:
    """The run went: the form under the step closes, and the runs panel comes along (out of band), from which the
    page shows the run under its step (static/js/console.js)."""
    return render(request, "incidents/runs/_in_place.html", {"dispatched": True, "incident": incident})


@permission_required("incidents.view_incident", raise_exception=True)
def runs_panel(request, pk):
    return _panel(request, _incident(pk))


@permission_required("incidents.view_incident", raise_exception=True)
def run_detail(request, pk, run_pk):
    incident = _incident(pk)
    run = _run(incident, run_pk)
    return render(request, "incidents/runs/detail.html", {"incident": incident, "run": run})


@permission_required("incidents.view_incident", raise_exception=True)
def run_output(request, pk, run_pk):
    incident = _incident(pk)
    run = get_object_or_404(CommandRun.objects.only("pk", "output", "incident_id"), pk=run_pk, incident=incident)
    # Stored output is stripped already; older runs may not be: a terminal reading this file obeys no escape code.
    response = HttpResponse(strip_terminal_codes(run.output), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="incident-{incident.pk}-run-{run.pk}.txt"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@permission_required("incidents.approve_command", raise_exception=True)
@require_POST
def run_approve(request, pk, run_pk):
    incident = _incident(pk)
    run = _run(incident, run_pk)
    if request.POST.get("decision") == "reject":
        return _answer(request, incident, lambda: run.reject(by=request.user, reason=request.POST.get("reason", "")),
                       f"Rejected run #{run.pk}.")
    return _answer(request, incident, lambda: run.approve(by=request.user), f"Approved run #{run.pk}; it is queued.")


@permission_required("incidents.run_command", raise_exception=True)
@require_POST
def run_cancel(request, pk, run_pk):
    incident = _incident(pk)
    run = _run(incident, run_pk)
    return _answer(request, incident, lambda: run.cancel(by=request.user), lambda: (
        f"Cancelled run #{run.pk}." if run.state == CommandRun.State.CANCELLED
        else f"Asked the worker to stop run #{run.pk}."))
