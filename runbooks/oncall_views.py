"""The two look-ups people trust at 3 a.m.: how bad is it (/severity/) and whom do we call (/escalation/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .escalation_plan import Directory, PlannedFiring, plan
from .models import Contact, EscalationPolicy, EscalationTier, Rotation, RotationMember, Service, SeverityLevel
from .severity import QUESTIONS, clean_answers, suggest


def _policies_with_tiers():
    return EscalationPolicy.objects.select_related("severity", "service", "continue_with").prefetch_related(
        Prefetch("tiers", EscalationTier.objects.order_by("order", "pk").prefetch_related(
            Prefetch("contacts", Contact.objects.order_by("name")), Prefetch("rotations", Rotation.objects.all()))))


def _questionnaire(request, levels: list[SeverityLevel], *, embedded: bool = False) -> dict:
    data = {k.removeprefix("impact_"): v for k, v in request.GET.items()} if embedded else request.GET
    answers, problems = clean_answers(data)
    result = suggest(answers, levels) if answers or problems else None
    if result is not None:
        result.problems = problems + result.problems
    return {"questions": [(key, text, options, answers.get(key, "")) for key, text, options in QUESTIONS],
            "suggestion": result, "embedded": embedded}


@require_GET
@permission_required("runbooks.view_runbook", raise_exception=True)
def severity(request):
    """The matrix with aliases, response times, examples and whom each level notifies, and the questionnaire."""
    levels = list(SeverityLevel.objects.all())
    policies = list(_policies_with_tiers())
    by_level: dict[int | None, list[EscalationPolicy]] = {}
    for policy in policies:
        by_level.setdefault(policy.severity_id, []).append(policy)
    rows = [{"level": level, "policies": by_level.get(level.pk, [])} for level in levels]
    context = {"rows": rows, "catch_all": by_level.get(None, []), "policy_count": len(policies),
               **_questionnaire(request, levels),
               "services": list(Service.objects.select_related("owner").prefetch_related(
                   Prefetch("contacts", Contact.objects.order_by("name"))))}
    return render(request, "runbooks/severity.html", context)


@require_GET
@permission_required("runbooks.view_runbook", raise_exception=True)
def severity_suggest(request):
    """The questionnaire's answer (htmx); without JavaScript the form lands on the severity page."""
    levels = list(SeverityLevel.objects.all())
    embedded = request.GET.get("embedded") == "1"  # inside the declare form: its inputs are named impact_*
    return render(request, "runbooks/severity.html#questionnaire", _questionnaire(request, levels, embedded=embedded))


# --- whom to call -----------------------------------------------------------------------------------------

@dataclass
class OnCall:
    rotation: Rotation
    person: Contact | None
    until: object
    next_person: Contact | None
    override: bool


@dataclass
class Lookup:
    severity: SeverityLevel | None = None
    service: Service | None = None
    policy: EscalationPolicy | None = None
    firings: list[PlannedFiring] = field(default_factory=list)
    on_call: list[OnCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    policy_problems: list[str] = field(default_factory=list)

    @property
    def now(self) -> PlannedFiring | None:
        return self.firings[0] if self.firings else None

    @property
    def next(self) -> PlannedFiring | None:
        return self.firings[1] if len(self.firings) > 1 else None


def _pick(text: str, levels: list[SeverityLevel]) -> SeverityLevel | None:
    wanted = text.strip().lower()
    return next((lv for lv in levels if str(lv.pk) == wanted or lv.name.lower() == wanted
                 or wanted in (str(a).lower() for a in lv.aliases or [])), None)


def _on_call(rotations: list[Rotation], at) -> list[OnCall]:
    shown = []
    for rotation in rotations:
        shift = rotation.shift_at(at)
        following = rotation.shift_at(shift.ends_at)
        shown.append(OnCall(rotation, shift.person, shift.ends_at, following.person, shift.override))
    return shown


@require_GET
@permission_required("runbooks.view_runbook", raise_exception=True)
def escalation(request):
    """Whom to call now for a service and severity, who is on call, and a dry run of the escalation."""
    levels = list(SeverityLevel.objects.all())
    services = list(Service.objects.select_related("owner").order_by("name"))
    found = Lookup()
    severity_text = request.GET.get("severity", "").strip()[:100]
    service_text = request.GET.get("service", "").strip()[:200]
    if severity_text:
        found.severity = _pick(severity_text, levels)
        if found.severity is None:
            found.problems.append(f"No severity level is called “{severity_text}”; choose one of the list.")
    if service_text:
        found.service = next((s for s in services if s.name.lower() == service_text.lower()
                              or str(s.pk) == service_text), None)
        if found.service is None:
            found.problems.append(f"No service is called “{service_text}”; showing the policy for every service.")
    now = timezone.now()
    if found.severity is not None or (found.service is not None and not severity_text):
        found.policy = EscalationPolicy.objects.for_incident(found.severity, found.service)
    rotation_ids = set()
    if found.policy is not None:
        snap = found.policy.snapshot()
        directory = Directory([snap])
        found.firings = plan(snap, now, directory=directory)
        found.policy_problems = found.policy.problems()
        rotation_ids |= set(directory.rotations)
    if found.service is not None and found.service.owner_id:
        rotation_ids |= set(Rotation.objects.filter(team_id=found.service.owner_id).values_list("pk", flat=True))
    rotations = list(Rotation.objects.filter(pk__in=rotation_ids).prefetch_related(
        Prefetch("memberships", RotationMember.objects.select_related("person")), "overrides__person",
    ).order_by("name")) if rotation_ids else []
    found.on_call = _on_call(rotations, now)
    service_contacts = list(found.service.contacts.order_by("name")) if found.service else []
    return render(request, "runbooks/escalation.html", {
        "found": found, "levels": levels, "services": services, "severity_text": severity_text,
        "service_text": service_text, "service_contacts": service_contacts, "now": now,
        "asked": bool(severity_text or service_text),
    })
