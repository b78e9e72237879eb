"""Postmortems: one per incident, drafted from what was recorded, written together section by section.

The recorded part (`facts`) is computed by `incidents/postmortem.py` and kept as JSON when someone generates
the draft, so a published postmortem never changes when the timeline grows. The written part is one row per
section, each with its own version number: a save names the version it started from and loses to a newer one
(a conflict shown to the person, never a silent overwrite). draft → in review → published; published is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from runbooks.markdown import render_markdown
from runbooks.models import SeverityLevel

from ..choices import EventKind
from ..templatetags.incident_tags import duration as say_duration
from .incident import Incident, IncidentError, _name

User = settings.AUTH_USER_MODEL
MAX_SECTION = 50_000
REVISION_COALESCE = timedelta(minutes=10)  # one person's autosaves of a section within this are one revision
DEFAULT_DUE_DAYS = [7, 14, 30, 60]  # by severity rank; the last applies to every lower rank


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    hint: str
    generated: bool = False  # drafted from the record until a person edits it


SECTIONS: tuple[Section, ...] = (
    Section("summary", "Summary", "What happened, in a few sentences a newcomer understands.", generated=True),
    Section("impact", "Impact", "Who was affected, how, and for how long.", generated=True),
    Section("root_cause", "Root cause", "Why it happened: the conditions, not the people."),
    Section("trigger", "Trigger", "What set it off: a deploy, a change, a load, a date."),
    Section("contributing_factors", "Contributing factors", "What made it worse or slower to fix."),
    Section("went_well", "What went well", "What to keep doing."),
    Section("went_badly", "What went badly", "What to change."),
    Section("got_lucky", "Where we got lucky", "What could have made it much worse."),
    Section("lessons", "Lessons", "What the organisation learnt."),
)
SECTION_KEYS = {s.key: s for s in SECTIONS}


def default_due_days() -> list[int]:
    return list(DEFAULT_DUE_DAYS)


class PostmortemPolicy(models.Model):
    """When a postmortem is required before an incident may close; one row, edited by admins."""

    severities = models.ManyToManyField(
        SeverityLevel, blank=True, related_name="+",
        help_text="Severities that always need a postmortem; none chosen: the two most severe levels")
    impact_minutes = models.PositiveIntegerField(
        null=True, blank=True, default=60,
        help_text="Any incident whose impact lasted longer than this needs one; empty: no duration rule")
    due_days = models.JSONField(
        default=default_due_days, blank=True,
        help_text="Days until an action item is due, by severity rank (most severe first), e.g. [7, 14, 30, 60]")

    class Meta:
        verbose_name = verbose_name_plural = "postmortem policy"

    def __str__(self) -> str:
        return "Postmortem policy"

    def clean(self) -> None:
        days = self.due_days
        if not isinstance(days, list) or not days or not all(isinstance(d, int) and 0 < d <= 3650 for d in days):
            raise ValidationError({"due_days": "A list of whole numbers of days, most severe first, e.g. [7, 14, 30]."})

    @classmethod
    def current(cls) -> PostmortemPolicy:
        return cls.objects.order_by("pk").first() or cls()

    def required_severity_ids(self) -> set[int]:
        chosen = set(self.severities.values_list("pk", flat=True)) if self.pk and not self._state.adding else set()
        if chosen:
            return chosen
        return set(SeverityLevel.objects.order_by("rank").values_list("pk", flat=True)[:2])

    def due_in_days(self, severity: SeverityLevel) -> int:
        days = self.due_days if isinstance(self.due_days, list) and self.due_days else DEFAULT_DUE_DAYS
        return int(days[min(severity.rank, len(days) - 1)])

    def required_because(self, incident: Incident, *, severity_ids: set[int] | None = None) -> list[str]:
        """Why this incident needs a postmortem ([] when it does not)."""
        reasons = []
        if incident.severity_id in (self.required_severity_ids() if severity_ids is None else severity_ids):
            reasons.append(f"{incident.severity.name} incidents need one")
        if self.impact_minutes is not None:
            lasted = (incident.milestone_at("mitigated") or timezone.now()) - incident.impact_start
            if lasted > timedelta(minutes=self.impact_minutes):
                reasons.append(f"its impact lasted {say_duration(lasted)}, over the {self.impact_minutes} min limit")
        return reasons

    @classmethod
    def closing_needs(cls, incident: Incident) -> list[str]:
        reasons = cls.current().required_because(incident)
        if not reasons:
            return []
        postmortem = Postmortem.objects.filter(incident=incident).only("state", "waived_at").first()
        if postmortem and (postmortem.state == Postmortem.State.PUBLISHED or postmortem.waived_at):
            return []
        return [f"A postmortem is required ({'; '.join(reasons)}): publish it, or a commander waives it "
                "with a reason."]


class SectionConflict(IncidentError):
    """Someone saved the section after the version this save started from."""

    def __init__(self, section: PostmortemSection) -> None:
        self.section = section
        who = _name(section.updated_by) or "someone"
        when = timezone.localtime(section.updated_at).strftime("%H:%M:%S") if section.updated_at else ""
        super().__init__(f"{who} saved “{SECTION_KEYS[section.key].title}” at {when} while you were writing. "
                         "Your text is kept in the box; their version is shown below. Merge what you need, "
                         "then save yours over theirs.")


class Postmortem(models.Model):
    """The postmortem of one incident: the recorded facts as generated, sections people write, its state."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    MOVES = {State.DRAFT: (State.IN_REVIEW,), State.IN_REVIEW: (State.DRAFT, State.PUBLISHED),
             State.PUBLISHED: ()}

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    state = models.CharField(max_length=20, choices=State, default=State.DRAFT)
    facts = models.JSONField(default=dict, blank=True, help_text="What the incident recorded, as generated")
    excluded = models.JSONField(default=list, blank=True, help_text="Key timeline entries the authors removed")
    generated_at = models.DateTimeField(null=True, blank=True)
    generated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    waiver_reason = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["state"], name="postmortem_state")]

    def __str__(self) -> str:
        return f"Postmortem of {self.incident}"

    @property
    def is_published(self) -> bool:
        return self.state == self.State.PUBLISHED

    def _refuse_if_published(self) -> None:
        if self.is_published:
            raise IncidentError("This postmortem is published and can no longer change.")

    # --- drafting -----------------------------------------------------------------------------------

    @classmethod
    def generate(cls, incident: Incident, *, by) -> Postmortem:
        """Draft (or redraft) from the record; sections a person wrote are kept as they are."""
        from ..postmortem import draft

        with transaction.atomic():
            incident._locked()
            postmortem, created = cls.objects.select_for_update().get_or_create(incident=incident)
            postmortem._refuse_if_published()
            facts = draft(incident)
            now = timezone.now()
            postmortem.facts, postmortem.generated_at, postmortem.generated_by = facts, now, by
            postmortem.save(update_fields=["facts", "generated_at", "generated_by", "updated_at"])
            existing = {s.key: s for s in postmortem.sections.all()}
            for section in SECTIONS:
                text = facts.get("text", {}).get(section.key, "")
                row = existing.get(section.key)
                if row is None:
                    PostmortemSection.objects.create(postmortem=postmortem, key=section.key, text=text,
                                                     html=render_markdown(text), generated=section.generated)
                elif row.generated and section.generated and row.text != text:
                    PostmortemSection.objects.filter(pk=row.pk).update(
                        text=text, html=render_markdown(text), version=models.F("version") + 1, updated_at=now)
            verb = "generated" if created or not existing else "regenerated (written sections kept)"
            incident._event(EventKind.POSTMORTEM, by, f"Postmortem draft {verb}", data={"postmortem": postmortem.pk})
            incident._bump()
        return postmortem

    def save_section(self, key: str, text: str, *, version: int | None, by) -> PostmortemSection:
        """Store a section's text if nobody saved it since `version`; raise SectionConflict otherwise."""
        if key not in SECTION_KEYS:
            raise IncidentError("There is no such section.")
        text = (text or "").replace("\r\n", "\n")
        if len(text) > MAX_SECTION:
            raise IncidentError(f"Keep a section under {MAX_SECTION:,} characters.")
        if version is None:
            raise IncidentError("The form is missing the section's version; reload the page.")
        with transaction.atomic():
            locked = Postmortem.objects.select_for_update().get(pk=self.pk)
            locked._refuse_if_published()
            section = PostmortemSection.objects.select_related("updated_by").get(postmortem=self, key=key)
            if section.version != version:
                if section.text == text:  # a retried save, or both wrote the same: nothing to resolve
                    return section
                raise SectionConflict(section)
            if section.text == text:
                return section
            now = timezone.now()
            PostmortemSection.objects.filter(pk=section.pk, version=version).update(
                text=text, html=render_markdown(text), version=version + 1, updated_by=by, updated_at=now,
                generated=False)
            section.refresh_from_db()
            last = self.revisions.filter(section=key).order_by("-pk").first()
            if last and last.by_id == getattr(by, "pk", None) and now - last.at < REVISION_COALESCE:
                PostmortemRevision.objects.filter(pk=last.pk).update(text=text, version=section.version, at=now)
            else:
                PostmortemRevision.objects.create(postmortem=self, section=key, version=section.version, text=text,
                                                  by=by, at=now)
            Postmortem.objects.filter(pk=self.pk).update(updated_at=now)
        return section

    def set_included(self, entry: str, included: bool, *, by) -> None:  # noqa: ARG002 - who is on the revision
        with transaction.atomic():
            locked = Postmortem.objects.select_for_update().get(pk=self.pk)
            locked._refuse_if_published()
            keys = {e["key"] for e in locked.facts.get("timeline", [])}
            if entry not in keys:
                raise IncidentError("That entry is not in the key timeline; regenerate the draft.")
            excluded = [e for e in locked.excluded if e != entry] + ([] if included else [entry])
            Postmortem.objects.filter(pk=self.pk).update(excluded=excluded, updated_at=timezone.now())
            self.excluded = excluded

    # --- state --------------------------------------------------------------------------------------

    def move(self, to: str, *, by) -> None:
        with transaction.atomic():
            incident = self.incident._locked()
            locked = Postmortem.objects.select_for_update().get(pk=self.pk)
            if to not in self.MOVES.get(locked.state, ()):
                label = self.State(to).label.lower() if to in self.State.values else repr(to)
                raise IncidentError(f"A postmortem that is {locked.get_state_display().lower()} cannot become "
                                    f"{label}." + (" It is final." if locked.is_published else ""))
            if not locked.generated_at:
                raise IncidentError("Generate the draft first.")
            now = timezone.now()
            changes: dict = {"state": to, "updated_at": now}
            if to == self.State.PUBLISHED:
                changes.update(published_at=now, published_by=by)
                sections = {s.key: s.text for s in self.sections.all()}
                PostmortemRevision.objects.create(postmortem=self, section="", version=0, by=by, at=now,
                                                  text="", snapshot={"sections": sections, "excluded": locked.excluded})
            Postmortem.objects.filter(pk=self.pk).update(**changes)
            for field, value in changes.items():
                setattr(self, field, value)
            words = {self.State.IN_REVIEW: "sent for review", self.State.DRAFT: "back to draft",
                     self.State.PUBLISHED: "published"}[to]
            incident._event(EventKind.POSTMORTEM, by, f"Postmortem {words}", data={"postmortem": self.pk, "to": to})
            incident._bump()

    @classmethod
    def waive(cls, incident: Incident, *, by, reason: str) -> Postmortem:
        reason = (reason or "").strip()
        if not reason:
            raise IncidentError("Say why this incident needs no postmortem.")
        if len(reason) > 1000:
            raise IncidentError("Keep the reason under 1,000 characters.")
        with transaction.atomic():
            incident._locked()
            postmortem, _ = cls.objects.select_for_update().get_or_create(incident=incident)
            if postmortem.is_published:
                raise IncidentError("The postmortem is published; there is nothing to waive.")
            if postmortem.waived_at:
                raise IncidentError(f"Already waived by {_name(postmortem.waived_by) or 'someone'}.")
            now = timezone.now()
            Postmortem.objects.filter(pk=postmortem.pk).update(waived_at=now, waived_by=by, waiver_reason=reason,
                                                                updated_at=now)
            postmortem.waived_at, postmortem.waived_by, postmortem.waiver_reason = now, by, reason
            incident._event(EventKind.POSTMORTEM, by, f"Postmortem waived: {reason}",
                            data={"postmortem": postmortem.pk, "waived": True, "reason": reason})
            incident._bump()
        return postmortem


class PostmortemSection(models.Model):
    """One written section; `version` grows with every save, which is how two writers find out about each other."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="sections")
    key = models.CharField(max_length=40, choices=[(s.key, s.title) for s in SECTIONS])
    text = models.TextField(blank=True)
    html = models.TextField(blank=True, editable=False)  # render_markdown(text), once, on save
    version = models.PositiveIntegerField(default=1)
    generated = models.BooleanField(default=False, help_text="Still the drafted text: regenerating replaces it")
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["postmortem", "key"], name="postmortem_section_once")]

    def __str__(self) -> str:
        return f"{self.postmortem} · {self.key} v{self.version}"

    @property
    def title(self) -> str:
        return SECTION_KEYS[self.key].title

    @property
    def hint(self) -> str:
        return SECTION_KEYS[self.key].hint


class PostmortemRevision(models.Model):
    """A kept state of a section (autosaves of one person a few minutes apart are one), or the whole
    postmortem as published (section empty, `snapshot` set). Never changed once the postmortem is published."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="revisions")
    section = models.CharField(max_length=40, blank=True)
    version = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    snapshot = models.JSONField(null=True, blank=True)
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["postmortem", "section", "id"], name="pm_revision_section")]

    def __str__(self) -> str:
        return f"{self.postmortem} · {self.section or 'published'} v{self.version}"
