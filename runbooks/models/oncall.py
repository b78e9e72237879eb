"""On-call rotations: an ordered list of people taking turns, a hand-off time and shift length, and overrides.

Kept simple on purpose ("whom do we call" mostly means "who is on call now"): shift n starts at
`handoff_at + n * length` and belongs to member `n mod len(members)`; an override puts someone else on call for a
period (the latest override wins where two overlap). Shifts are counted in real elapsed time from the hand-off
instant, so a daily shift is 24 hours even across a daylight-saving change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .people import Contact


@dataclass(frozen=True, slots=True)
class Shift:
    person: Contact | None
    starts_at: datetime
    ends_at: datetime
    override: bool = False


class Rotation(models.Model):
    """People taking turns on call."""

    class Length(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    name = models.CharField(max_length=200, unique=True)
    team = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="rotations",
                             limit_choices_to={"kind": "team"}, help_text="The team whose on-call this is")
    handoff_at = models.DateTimeField(default=timezone.now,
                                      help_text="When the first shift began; every hand-off is at this time of day")
    length = models.CharField(max_length=10, choices=Length, default=Length.WEEKLY)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def shift_length(self) -> timedelta:
        return timedelta(days=7 if self.length == self.Length.WEEKLY else 1)

    def _members(self) -> list[Contact]:
        cache = getattr(self, "_prefetched_objects_cache", {})
        if "memberships" in cache:
            return [m.person for m in sorted(cache["memberships"], key=lambda m: (m.position, m.pk))]
        return [m.person for m in self.memberships.select_related("person").order_by("position", "pk")]

    def _overrides(self) -> list[RotationOverride]:
        cache = getattr(self, "_prefetched_objects_cache", {})
        rows = cache["overrides"] if "overrides" in cache else list(self.overrides.select_related("person"))
        return sorted(rows, key=lambda o: (o.created_at, o.pk), reverse=True)

    def scheduled_shift(self, at: datetime) -> Shift:
        """The regular shift covering `at` (ignoring overrides)."""
        members = self._members()
        length = self.shift_length
        n = (at - self.handoff_at) // length
        starts = self.handoff_at + n * length
        person = members[n % len(members)] if members else None
        return Shift(person, starts, starts + length)

    def shift_at(self, at: datetime | None = None) -> Shift:
        """Who is on call at `at` (now by default), overrides first."""
        at = at or timezone.now()
        for override in self._overrides():
            if override.starts_at <= at < override.ends_at:
                return Shift(override.person, override.starts_at, override.ends_at, override=True)
        return self.scheduled_shift(at)

    def on_call(self, at: datetime | None = None) -> Contact | None:
        return self.shift_at(at).person

    def next_handoff(self, at: datetime | None = None) -> datetime:
        """When the person on call at `at` hands over (an override's end, or the shift's)."""
        return self.shift_at(at).ends_at

    def unreachable_reason(self) -> str:
        members = self._members()
        if not members:
            return f"the rotation {self.name} has nobody in it"
        silent = [m.name for m in members if not m.own_routes()]
        if silent:
            return f"in the rotation {self.name}, {', '.join(silent)} cannot be paged (no email address)"
        return ""


class RotationMember(models.Model):
    """A person's place in a rotation."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="rotation_memberships",
                               limit_choices_to={"kind": "person"})
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["rotation", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["rotation", "person"], name="rotation_member_once")]

    def __str__(self) -> str:
        return f"{self.rotation}: {self.person}"


class RotationOverride(models.Model):
    """Someone else on call for a period (a swap, a holiday, a sick day)."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="overrides")
    person = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="rotation_overrides",
                               limit_choices_to={"kind": "person"})
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rotation", "starts_at"]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                              name="rotation_override_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.person} on {self.rotation} from {self.starts_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "An override ends after it starts."})
