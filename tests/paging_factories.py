"""make_* functions for paging tests: people, channels, rotations and policies."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from runbooks.models import Contact, EscalationPolicy, EscalationTier, Rotation, RotationMember


def make_person(name: str, *, email: str | None = "", **extra) -> Contact:
    email = f"{name.split()[0].lower()}@example.com" if email == "" else (email or "")
    return Contact.objects.create(name=name, kind=Contact.Kind.PERSON, email=email, **extra)


def make_channel(name: str = "#ops", *, webhook_url: str = "", **extra) -> Contact:
    return Contact.objects.create(name=name, kind=Contact.Kind.CHANNEL, channel=name, webhook_url=webhook_url,
                                  **extra)


def make_team(name: str, members=(), **extra) -> Contact:
    team = Contact.objects.create(name=name, kind=Contact.Kind.TEAM, **extra)
    team.members.set(members)
    return team


def make_rotation(name: str, people, *, length: str = "daily", handoff_at=None) -> Rotation:
    rotation = Rotation.objects.create(name=name, length=length,
                                       handoff_at=handoff_at or timezone.now() - timedelta(hours=1))
    for position, person in enumerate(people):
        RotationMember.objects.create(rotation=rotation, person=person, position=position)
    return rotation


def make_policy(severity, tiers, *, name: str | None = None, service=None, repeat: int = 0) -> EscalationPolicy:
    """tiers: (delay_minutes, [contacts and rotations]) pairs."""
    policy = EscalationPolicy.objects.create(name=name or f"{severity.name} escalation", severity=severity,
                                             service=service, repeat=repeat)
    for order, (delay, targets) in enumerate(tiers):
        tier = EscalationTier.objects.create(policy=policy, order=order, delay_minutes=delay)
        tier.contacts.set([t for t in targets if isinstance(t, Contact)])
        tier.rotations.set([t for t in targets if isinstance(t, Rotation)])
    return policy
