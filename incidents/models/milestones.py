"""An incident's milestones, each with a stated definition, and the durations measured from impact started.

Impact started → detected → declared → acknowledged → mitigated → resolved. The status changes stamp most of
them; a commander may correct one (someone pressed Mitigated late, the alert fired after users noticed). A
correction keeps who made it, why and what the time was, is written on the timeline, and must keep the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, transaction
from django.utils import timezone


@dataclass(frozen=True)
class Milestone:
    key: str
    label: str
    field: str  # the Incident field holding it
    definition: str
    editable: bool = True


MILESTONES: tuple[Milestone, ...] = (
    Milestone("impact_started", "Impact started", "impact_started_at",
              "When users were first affected. Defaults to the declare time, or to the first alert's startsAt "
              "when the incident came from an alert; a commander corrects it when it began earlier."),
    Milestone("detected", "Detected", "detected_at",
              "When we first knew something was wrong: the first alert, or the declare time when a person "
              "noticed it; a commander corrects it when someone noticed before declaring."),
    Milestone("declared", "Declared", "declared_at", "When the incident was declared in the console.",
              editable=False),
    Milestone("acknowledged", "Acknowledged", "acknowledged_at",
              "When someone first took it on: the Acknowledge button, an acknowledged page, or the first status "
              "change."),
    Milestone("mitigated", "Mitigated", "mitigated_at",
              "When the impact stopped: the move to Mitigated, or the resolve when it never passed through "
              "Mitigated."),
    Milestone("resolved", "Resolved", "resolved_at", "When the incident was marked resolved."),
)
BY_KEY = {m.key: m for m in MILESTONES}


@dataclass(frozen=True)
class Duration:
    key: str
    label: str
    short: str
    to: str  # the milestone it runs to, from impact started


DURATIONS: tuple[Duration, ...] = (
    Duration("tta", "Time to acknowledge", "TTA", "acknowledged"),
    Duration("ttm", "Time to mitigate", "TTM", "mitigated"),
    Duration("ttr", "Time to resolve", "TTR", "resolved"),
)
MEASURED_FROM = ("Measured from impact started (not from the declare time), and compared with the severity's "
                 "response time.")
FUTURE_SLACK = timedelta(minutes=1)  # a browser clock a little ahead is not "the future"


def met(took: timedelta | None, allowed: timedelta | None) -> bool | None:
    """Within the response time; None when there is nothing to compare (not reached, or no response time)."""
    if took is None or allowed is None:
        return None
    return took <= allowed


def order_problem(times: dict[str, datetime | None]) -> str:
    """Why these milestone times are out of order ('' when they are not); missing ones are skipped."""
    previous: tuple[Milestone, datetime] | None = None
    for milestone in MILESTONES:
        at = times.get(milestone.key)
        if at is None:
            continue
        if previous is not None and at < previous[1]:
            before, when = previous
            return (f"{before.label} ({_when(when)}) cannot come after {milestone.label} ({_when(at)}): "
                    "milestones go impact started → detected → declared → acknowledged → mitigated → resolved.")
        previous = (milestone, at)
    return ""


def _when(at: datetime) -> str:
    return timezone.localtime(at).strftime("%H:%M, %d %b %Y")


class Milestones(models.Model):
    """The milestone fields the Incident does not already stamp, and the rules over all of them."""

    detected_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the declare time")
    # The latest correction of each milestone: {"mitigated": {"at", "was", "by", "by_name", "reason", "edited_at"}}.
    milestone_edits = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        abstract = True

    # --- reading ----------------------------------------------------------------------------------

    def milestone_at(self, key: str) -> datetime | None:
        """The milestone as its definition says (defaults filled in)."""
        if key == "impact_started":
            return self.impact_started_at or self.declared_at
        if key == "detected":
            return self.detected_at or self.declared_at
        if key == "mitigated":
            return self.mitigated_at or self.resolved_at
        return getattr(self, BY_KEY[key].field)

    @property
    def impact_start(self) -> datetime:
        return self.impact_started_at or self.declared_at

    def duration_to(self, key: str) -> timedelta | None:
        at = self.milestone_at(key)
        return at - self.impact_start if at is not None else None

    def milestone_edit(self, key: str) -> dict | None:
        """Who corrected this milestone and why, while the time shown is still the corrected one."""
        edit = (self.milestone_edits or {}).get(key)
        current = getattr(self, BY_KEY[key].field)
        if not edit or current is None:
            return None
        try:
            return edit if datetime.fromisoformat(edit["at"]) == current else None
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def edited_milestones(self) -> list[str]:
        return [m.key for m in MILESTONES if m.editable and self.milestone_edit(m.key)]

    def milestone_rows(self) -> list[dict]:
        """Each milestone with its time, its correction and how long after impact started it came."""
        start = self.impact_start
        rows = []
        for m in MILESTONES:
            at = self.milestone_at(m.key)
            rows.append({"key": m.key, "label": m.label, "definition": m.definition, "at": at,
                         "editable": m.editable, "edit": self.milestone_edit(m.key) if m.editable else None,
                         "since_impact": at - start if at is not None else None,
                         "defaulted": at is not None and getattr(self, m.field) is None})
        return rows

    def duration_rows(self) -> list[dict]:
        allowed = self.response_time
        rows = []
        for d in DURATIONS:
            took = self.duration_to(d.to)
            rows.append({"key": d.key, "label": d.label, "short": d.short, "took": took, "allowed": allowed,
                         "met": met(took, allowed), "edited": bool(self.milestone_edit(d.to)
                                                                   or self.milestone_edit("impact_started"))})
        return rows

    # --- correcting -------------------------------------------------------------------------------

    def edit_milestone(self, key: str, at: datetime | None, *, by, reason: str) -> None:
        """Correct a milestone's time; refused with a message when it breaks the order or lacks a reason."""
        from .incident import IncidentError, _name

        milestone = BY_KEY.get(key)
        if milestone is None or not milestone.editable:
            raise IncidentError("That milestone cannot be changed." if milestone else "There is no such milestone.")
        reason = (reason or "").strip()
        if not reason:
            raise IncidentError(f"Say why {milestone.label.lower()} is being changed.")
        if len(reason) > 500:
            raise IncidentError("Keep the reason under 500 characters.")
        if at is None:
            raise IncidentError(f"Give the time {milestone.label.lower()}.")
        if at > timezone.now() + FUTURE_SLACK:
            raise IncidentError(f"{milestone.label} cannot be in the future.")
        with transaction.atomic():
            self._locked()
            was = getattr(self, milestone.field)
            if was is None and key in ("acknowledged", "resolved"):
                raise IncidentError(f"The incident is not {key} yet; it gets that time when it is.")
            if key == "mitigated" and was is None and self.resolved_at is None:
                raise IncidentError("The incident is not mitigated yet; it gets that time when it moves to Mitigated.")
            times = {m.key: getattr(self, m.field) for m in MILESTONES}
            times["impact_started"] = self.impact_start
            times[key] = at
            problem = order_problem(times)
            if problem:
                raise IncidentError(problem)
            shown_was = self.milestone_at(key)
            edits = dict(self.milestone_edits or {})
            edits[key] = {"at": at.isoformat(), "was": shown_was.isoformat() if shown_was else None,
                          "by": by.pk if by else None, "by_name": _name(by), "reason": reason,
                          "edited_at": timezone.now().isoformat()}
            type(self).objects.filter(pk=self.pk).update(**{milestone.field: at, "milestone_edits": edits})
            setattr(self, milestone.field, at)
            self.milestone_edits = edits
            from ..choices import EventKind

            old = f"{_when(shown_was)}" if shown_was else "not set"
            self._event(EventKind.MILESTONE, by, f"{milestone.label} changed from {old} to {_when(at)}: {reason}",
                        data={"milestone": key, "from": edits[key]["was"], "to": edits[key]["at"], "reason": reason})
            self._bump()

    def closing_needs(self) -> list[str]:
        """What must happen before this incident may be closed (empty: nothing)."""
        from .postmortem import PostmortemPolicy

        return PostmortemPolicy.closing_needs(self)
