"""Paging from the incident page ("page now", "jump to tier N"), its "next page" panel, and the acknowledge link.

The panel is a partial of the incident page (templates/incidents/_paging_panel.html) refreshed with the live
poll: everything it shows moves with the incident's revision (the engine bumps it whenever it fires a tier or
records a page), and the next page's time is written as a timestamp, so the one-query unchanged poll stays one
query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_not_required, permission_required
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from runbooks.escalation_plan import Directory, PlannedFiring, PlannedTarget
from runbooks.models import Contact

from . import views
from .answers import answer_change
from .messages import AckLinkError, acknowledge_by_link, read_ack_token
from .models import Escalation, Page
from .paging import jump_to_tier, page_now

PANEL_PAGES = 12


@dataclass
class PagingPanel:
    escalation: Escalation | None
    pages: list[Page] = field(default_factory=list)
    more_pages: int = 0
    next: PlannedFiring | None = None
    ahead: list[tuple[int, str]] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)

    @property
    def failed(self) -> list[Page]:
        return [p for p in self.pages if p.state == Page.State.FAILED]


def paging_panel(incident) -> PagingPanel:
    """What the panel shows, in a constant number of queries (escalation, pages, contacts, next tier's people)."""
    esc = Escalation.objects.filter(incident_id=incident.pk).select_related("stopped_by").first()
    pages = list(Page.objects.filter(incident_id=incident.pk).order_by("-created_at", "-pk")[:PANEL_PAGES + 1])
    panel = PagingPanel(esc, pages[:PANEL_PAGES], max(0, len(pages) - PANEL_PAGES))
    panel.contacts = list(Contact.objects.order_by("kind", "name").only("pk", "name", "kind", "role"))
    if esc is None or not esc.is_active:
        return panel
    tiers = esc.tiers
    if esc.next_tier < len(tiers):
        spec = tiers[esc.next_tier]
        directory = Directory([{"tiers": [spec]}])
        at = esc.next_due_at
        panel.next = PlannedFiring(esc.next_tier, esc.next_repeat, 0, at,
                                   [directory.resolve(t, at) for t in spec.get("targets") or []],
                                   spec.get("delay"), spec.get("action") or "")
    else:
        panel.next = PlannedFiring(len(tiers), esc.next_repeat, 0, esc.next_due_at,
                                   [PlannedTarget("nobody more: the escalation ends", "end")], None)
    panel.ahead = [(i, ", ".join(t.get("name", "?") for t in tier.get("targets") or []) or "nobody")
                   for i, tier in enumerate(tiers) if i >= esc.next_tier]
    return panel


@permission_required("incidents.respond_incident", raise_exception=True)
@require_POST
def page_contact(request, pk):
    """Page one chosen contact now."""
    incident = views._incident(pk)
    contact = Contact.objects.filter(pk=views._int(request.POST.get("contact"), 0)).first()
    if contact is None:
        return answer_change(request, None, refused="Choose someone to page.", **views._answers(request, incident))
    position = request.POST.get("position") or None
    made = []
    return answer_change(
        request, lambda: made.extend(page_now(incident, contact, by=request.user, position=position)),
        success=lambda: f"Paging {contact.name} ({', '.join(p.channel for p in made)}).",
        **views._answers(request, incident))


@permission_required("incidents.command_incident", raise_exception=True)
@require_POST
def jump(request, pk):
    """Fire a later tier now instead of waiting for it."""
    incident = views._incident(pk)
    tier = views._int(request.POST.get("tier"))
    if tier is None or tier < 1:
        return answer_change(request, None, refused="Choose a tier to jump to.", **views._answers(request, incident))
    position = request.POST.get("position") or None
    return answer_change(request, lambda: jump_to_tier(incident, tier - 1, by=request.user, position=position),
                         success=f"Tier {tier} is being paged now.", **views._answers(request, incident))


@login_not_required
@require_http_methods(["GET", "POST"])
def acknowledge_link(request, token: str):
    """The link in a page: GET shows what it will do (mail scanners that follow links must not acknowledge),
    POST acknowledges as the contact it was sent to. It can do nothing else and opens no session."""
    try:
        page = read_ack_token(token)
        if request.method == "POST":
            page = acknowledge_by_link(token)
            done = True
        else:
            done = False
            if page.ack_used_at is not None:
                raise AckLinkError("This link was already used.")
    except AckLinkError as exc:
        return render(request, "incidents/ack_link.html", {"error": str(exc)}, status=400)
    return render(request, "incidents/ack_link.html", {"page": page, "incident": page.incident, "done": done,
                                                       "token": token})
