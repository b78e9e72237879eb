"""When each tier of a policy fires if nobody acknowledges: plain functions over a policy snapshot.

The engine (incidents/paging.py) moves a running escalation with `advance`; the look-up page draws its dry run
with `plan`. Both read the same snapshot (`EscalationPolicy.snapshot()`), so what the page promises is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Prefetch

from .models import Contact, Rotation, RotationMember, Route

MAX_PLANNED = 60  # a dry run shows at most this many firings (repeat counts can be large)


def advance(tiers: list[dict], repeat: int, tier: int, rep: int) -> tuple[int, int] | None:
    """The position after tier `tier` of pass `rep` fired, or None when it was the last of the last pass."""
    if tier + 1 < len(tiers):
        return tier + 1, rep
    if rep < repeat:
        return 0, rep + 1
    return None


@dataclass
class PlannedTarget:
    name: str
    kind: str
    routes: list[Route] = field(default_factory=list)
    person: Contact | None = None  # who a rotation's target is at that moment
    problem: str = ""


@dataclass
class PlannedFiring:
    tier: int
    repeat: int
    minute: int
    at: datetime
    targets: list[PlannedTarget]
    delay: int | None
    action: str = ""

    @property
    def label(self) -> str:
        return f"Tier {self.tier + 1}" + (f" (repeat {self.repeat})" if self.repeat else "")


def schedule(tiers: list[dict], repeat: int, *, tier: int = 0, rep: int = 0, limit: int = MAX_PLANNED):
    """(tier, repeat, minutes after the first of them) for each firing from (tier, rep) on, if nobody answers."""
    minute, position, steps = 0, (tier, rep), []
    while position is not None and position[0] < len(tiers) and len(steps) < limit:
        steps.append((position[0], position[1], minute))
        delay = tiers[position[0]].get("delay")
        if delay is None:
            break
        minute += delay
        position = advance(tiers, repeat, *position)
    return steps


class Directory:
    """The contacts and rotations a snapshot names, read in a constant number of queries."""

    def __init__(self, snapshots: list[dict]) -> None:
        contact_ids, rotation_ids = set(), set()
        for snap in snapshots:
            for tier in snap.get("tiers") or []:
                for target in tier.get("targets") or []:
                    kind, _, pk = str(target.get("key", "")).partition(":")
                    if pk.isdigit():
                        (contact_ids if kind == "contact" else rotation_ids if kind == "rotation" else set()).add(
                            int(pk))
        members = Prefetch("members", Contact.objects.order_by("name"))
        self.contacts = Contact.objects.prefetch_related(members).in_bulk(contact_ids) if contact_ids else {}
        self.rotations = Rotation.objects.prefetch_related(
            Prefetch("memberships", RotationMember.objects.select_related("person")), "overrides__person",
        ).in_bulk(rotation_ids) if rotation_ids else {}
        self._resolved: dict[tuple, PlannedTarget] = {}

    def resolve(self, target: dict, at: datetime) -> PlannedTarget:
        """Whom a snapshot target means at `at`, and how each is paged (or why they cannot be).

        Worked out once per target and moment: a tick firing a thousand escalations of one policy asks the
        same question a thousand times. Callers read the answer and never change it."""
        key = (str(target.get("key", "")), target.get("name"), at)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve(target, at)
        return found

    def _resolve(self, target: dict, at: datetime) -> PlannedTarget:
        kind, _, pk = str(target.get("key", "")).partition(":")
        name = target.get("name") or "?"
        if kind == "contact":
            contact = self.contacts.get(int(pk)) if pk.isdigit() else None
            if contact is None:
                return PlannedTarget(name, "gone", problem=f"{name} was removed from the contacts")
            members = list(contact.members.all())
            return PlannedTarget(contact.name, contact.kind, contact.routes(members), contact,
                                 contact.unreachable_reason(members))
        if kind == "rotation":
            rotation = self.rotations.get(int(pk)) if pk.isdigit() else None
            if rotation is None:
                return PlannedTarget(name, "gone", problem=f"the rotation {name} was removed")
            person = rotation.on_call(at)
            if person is None:
                return PlannedTarget(rotation.name, "rotation", problem=f"nobody is on call in {rotation.name}")
            return PlannedTarget(rotation.name, "rotation", person.own_routes(), person,
                                 "" if person.own_routes() else person.unreachable_reason())
        return PlannedTarget(name, "unknown", problem=f"nobody called “{name}” is in the contacts or rotations")


def plan(snapshot: dict, start: datetime, *, tier: int = 0, rep: int = 0,
         directory: Directory | None = None) -> list[PlannedFiring]:
    """Who would be paged at which minute from `start` if nobody acknowledged (rotations as they will be then)."""
    directory = directory or Directory([snapshot])
    tiers = snapshot.get("tiers") or []
    firings = []
    for t, r, minute in schedule(tiers, int(snapshot.get("repeat") or 0), tier=tier, rep=rep):
        at = start + timedelta(minutes=minute)
        spec = tiers[t]
        firings.append(PlannedFiring(t, r, minute, at, [directory.resolve(x, at) for x in spec.get("targets") or []],
                                     spec.get("delay"), spec.get("action") or ""))
    return firings
