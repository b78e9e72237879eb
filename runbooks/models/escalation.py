"""Escalation policies: per severity (optionally per service), ordered tiers of targets, a repeat count.

A tier's targets are contacts (a person, a team, a channel) and rotations ("whoever is on call in X when the tier
fires"). Tier 1 fires when the incident is declared; each tier then waits its `delay_minutes` for an
acknowledgement before the next one fires (GoAlert's "escalate after"). After the last tier has waited, the tiers
run again `repeat` more times. `continue_with` hands over to another policy's tiers after the last one (a service's
own policy falling back to the organisation's): a chain that comes back to itself is a loop and is refused.

`problems()` says why a policy cannot run as written; the admin refuses such a policy, the importer stores it
with a warning (documents name people the console does not know yet), and the engine records a page it cannot
send as skipped, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models

from .library import SeverityLevel
from .oncall import Rotation
from .people import Contact, Service


@dataclass
class TierSpec:
    """A tier as a form or a document gives it, before it is stored: what `policy_problems` checks."""

    delay_minutes: int | None
    contacts: list = field(default_factory=list)
    rotations: list = field(default_factory=list)
    unknown_names: list[str] = field(default_factory=list)


def policy_problems(tiers: list[TierSpec], *, repeat: int = 0, name: str = "This policy",
                    continue_with: EscalationPolicy | None = None, pk: int | None = None) -> list[str]:
    """Why a policy cannot run as written, in sentences for the admin; [] when it can."""
    problems = []
    if not tiers:
        problems.append(f"{name} has no tiers: add at least one tier with someone to page.")
    for n, tier in enumerate(tiers, start=1):
        for unknown in tier.unknown_names:
            problems.append(f"Tier {n}: nobody called “{unknown}” is in the contacts or rotations.")
        if not tier.contacts and not tier.rotations and not tier.unknown_names:
            problems.append(f"Tier {n} pages nobody: choose a person, team, channel or rotation.")
        for target in [*tier.contacts, *tier.rotations]:
            reason = target.unreachable_reason()
            if reason:
                problems.append(f"Tier {n}: {reason}.")
        if tier.delay_minutes is None and n < len(tiers):
            problems.append(f"Tier {n} has no delay, so tier {n + 1} and later would never fire: give it the "
                            "minutes to wait for an acknowledgement.")
    delays = [t.delay_minutes or 0 for t in tiers]
    if tiers and repeat and sum(delays) == 0:
        problems.append(f"Every tier waits 0 minutes, so repeating {repeat} times would page everyone "
                        f"{repeat + 1} times in the same minute: give a tier a delay, or set repeat to 0.")
    seen = {pk} if pk else set()
    chain = [name]
    policy = continue_with
    while policy is not None:
        chain.append(policy.name)
        if policy.pk in seen:
            problems.append(f"The policy loops: {' → '.join(chain)}. A policy may not continue with itself, "
                            "directly or through others.")
            break
        seen.add(policy.pk)
        policy = policy.continue_with
    return problems


def find_by_names(names: list[str]) -> tuple[list[Contact], list[Rotation], list[str]]:
    """Contacts (by name or role) and rotations (by name) called what a document wrote; the names nobody has."""
    names = [n for n in dict.fromkeys(n.strip() for n in names) if n]
    if not names:
        return [], [], []
    query = models.Q()
    for name in names:
        query |= models.Q(name__iexact=name) | models.Q(role__iexact=name)
    contacts = list(Contact.objects.filter(query).order_by("pk"))
    rotation_query = models.Q()
    for name in names:
        rotation_query |= models.Q(name__iexact=name)
    rotations = list(Rotation.objects.filter(rotation_query).order_by("pk"))
    found, unknown, picked_c, picked_r = set(), [], [], []
    for name in names:
        key = name.casefold()
        person = next((c for c in contacts if c.name.casefold() == key), None) or \
            next((c for c in contacts if c.role and c.role.casefold() == key), None)
        rotation = next((r for r in rotations if r.name.casefold() == key), None)
        if rotation is not None and rotation.pk not in found:
            picked_r.append(rotation)
            found.add(rotation.pk)
        elif person is not None:
            if person not in picked_c:
                picked_c.append(person)
        elif rotation is None:
            unknown.append(name)
    return picked_c, picked_r, unknown


def tier_spec(delay_minutes: int | None, contacts: list, rotations: list, names) -> TierSpec:
    """A tier's targets: those chosen, plus the contacts and rotations its document names (as known now)."""
    contacts, rotations = list(contacts), list(rotations)
    known = {x.casefold() for c in contacts for x in (c.name, c.role) if x} | {r.name.casefold() for r in rotations}
    missing = [n for n in names or [] if isinstance(n, str) and n.strip().casefold() not in known]
    found_c, found_r, unknown = find_by_names(missing)
    contacts += [c for c in found_c if c not in contacts]
    rotations += [r for r in found_r if r not in rotations]
    return TierSpec(delay_minutes, contacts, rotations, unknown)


class EscalationPolicyQuerySet(models.QuerySet):
    def for_incident(self, severity: SeverityLevel | None, service: Service | None) -> EscalationPolicy | None:
        """The policy that applies: this severity and service, else this severity for any service, else any
        severity for this service, else the catch-all (neither set)."""
        policies = self.filter(models.Q(severity=severity) | models.Q(severity__isnull=True)) if severity \
            else self.filter(severity__isnull=True)
        policies = policies.filter(models.Q(service=service) | models.Q(service__isnull=True)) if service \
            else policies.filter(service__isnull=True)
        # Chosen here, not by the database: no ORDER BY (the default ordering joins two tables for nothing).
        return min(policies.select_related("severity", "service").order_by(),
                   key=lambda p: (p.severity_id is None, p.service_id is None, p.pk), default=None)


class EscalationPolicy(models.Model):
    """Who is told, and when, for a severity (optionally for one service)."""

    name = models.CharField(max_length=200, unique=True)
    severity = models.ForeignKey(
        SeverityLevel, null=True, blank=True, on_delete=models.CASCADE, related_name="escalation_policies",
        help_text="Empty: any severity without a policy of its own",
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="escalation_policies",
        help_text="Empty: every service",
    )
    repeat = models.PositiveSmallIntegerField(
        default=0, help_text="How many more times to run the tiers after the last one has waited")
    continue_with = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="continued_by",
        help_text="After the last tier, go on with this policy's tiers (this policy's repeat covers them all)",
    )
    description = models.TextField(blank=True)
    source = models.ForeignKey("SourceDocument", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="escalation_policies", editable=False)
    imported_rows = models.JSONField(default=list, blank=True, editable=False,
                                     help_text="The rows the document gave when it was last imported")
    edited = models.BooleanField(default=False, editable=False,
                                 help_text="Changed in the admin since its import: a re-import keeps it")

    objects = EscalationPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["severity__rank", "service__name", "name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name

    def ordered_tiers(self) -> list[EscalationTier]:
        cache = getattr(self, "_prefetched_objects_cache", {})
        tiers = cache["tiers"] if "tiers" in cache else self.tiers.prefetch_related(
            "contacts__members", "rotations__memberships__person", "rotations__overrides__person")
        return sorted(tiers, key=lambda t: (t.order, t.pk))

    def chain(self) -> list[EscalationPolicy]:
        """This policy and those it continues with, stopping before a loop."""
        policies, seen, policy = [], set(), self
        while policy is not None and policy.pk not in seen:
            policies.append(policy)
            seen.add(policy.pk)
            policy = policy.continue_with
        return policies

    def all_tiers(self) -> list[EscalationTier]:
        return [tier for policy in self.chain() for tier in policy.ordered_tiers()]

    def tier_specs(self) -> list[TierSpec]:
        return [tier.spec() for tier in self.all_tiers()]

    def problems(self) -> list[str]:
        tiers = [tier.spec() for tier in self.ordered_tiers()]
        return policy_problems(tiers, repeat=self.repeat, name=self.name, continue_with=self.continue_with,
                               pk=self.pk)

    def snapshot(self) -> dict:
        """What a running escalation keeps: the tiers with their targets (ids and names), as plain JSON.

        Later edits to the policy do not change an escalation that started; people's addresses and who is on
        call in a rotation are read when a tier fires.
        """
        tiers = []
        for tier in self.all_tiers():
            spec = tier.spec()
            targets = [{"key": f"contact:{c.pk}", "kind": c.kind, "name": c.name} for c in spec.contacts]
            targets += [{"key": f"rotation:{r.pk}", "kind": "rotation", "name": r.name} for r in spec.rotations]
            targets += [{"key": f"name:{n.casefold()}"[:200], "kind": "unknown", "name": n}
                        for n in spec.unknown_names]
            tiers.append({"delay": tier.delay_minutes, "targets": targets, "action": tier.action,
                          "names": list(tier.notify_names), "policy": tier.policy.name})
        return {"policy": self.pk, "name": self.name, "repeat": self.repeat, "tiers": tiers,
                "chain": [p.name for p in self.chain()]}


class EscalationTier(models.Model):
    """One step of a policy: page these targets, then wait `delay_minutes` for an acknowledgement."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="tiers")
    order = models.PositiveSmallIntegerField(default=0)
    delay_minutes = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Minutes to wait for an acknowledgement before the next tier; empty: the escalation stops here",
    )
    contacts = models.ManyToManyField(Contact, blank=True, related_name="escalation_tiers",
                                      help_text="People, teams and channels to page")
    rotations = models.ManyToManyField(Rotation, blank=True, related_name="escalation_tiers",
                                       help_text="Page whoever is on call in these rotations when the tier fires")
    notify_names = models.JSONField(default=list, blank=True, help_text="Names as the source document gave them")
    action = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["policy", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.policy} tier {self.order + 1}"

    def spec(self) -> TierSpec:
        """The tier's targets, with the names the document gave matched to contacts and rotations known now."""
        return tier_spec(self.delay_minutes, list(self.contacts.all()), list(self.rotations.all()),
                         self.notify_names)
