"""What the API reads and answers, as pydantic models (they are the OpenAPI schema too)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from incidents.alerts.payloads import no_nul
from incidents.choices import Status


def text(min_length: int = 0, max_length: int = 200):
    """A string field: stripped, bounded, and without NUL (PostgreSQL stores none)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(no_nul)]


NonEmpty = text(1, 200)


class Error(BaseModel):
    error: str = Field(description="What went wrong, in words a person reads")
    details: list[dict] | None = Field(default=None, description="Each field that did not fit, when there are any")


class Person(BaseModel):
    username: str
    name: str


class IncidentOut(BaseModel):
    id: int
    title: str
    status: Status
    severity: str
    service: str | None
    commander: Person | None
    declared_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    revision: int
    url: str = Field(description="The incident's page in the console")


class IncidentList(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[IncidentOut]


class IncidentCreate(BaseModel):
    title: text(1, 200)
    severity: NonEmpty = Field(description="A severity level's name or alias, e.g. SEV1 or P1", examples=["P1"])
    service: text(0, 200) | None = Field(default=None, description="A service's name")
    summary: text(0, 20_000) = ""
    runbooks: list[NonEmpty] = Field(default_factory=list, max_length=20,
                                     description="Runbooks to attach, by slug or key")


class Milestones(BaseModel):
    impact_started_at: datetime | None
    detected_at: datetime | None
    declared_at: datetime
    acknowledged_at: datetime | None
    investigating_at: datetime | None
    identified_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class AttachedRunbook(BaseModel):
    slug: str
    title: str
    version: int
    attached_at: datetime


class ChecklistItemOut(BaseModel):
    id: int
    runbook: str = Field(description="The runbook's slug")
    order: int
    phase: str
    heading: str
    text: str
    state: Literal["open", "done", "skipped"]
    skip_reason: str
    changed_by: str | None
    changed_at: datetime | None


class AlertOut(BaseModel):
    fingerprint: str
    name: str
    status: Literal["firing", "resolved"]
    summary: str
    labels: dict[str, str]
    starts_at: datetime
    resolved_at: datetime | None
    seen_count: int
    last_seen_at: datetime


class AlertsOut(BaseModel):
    firing: int
    resolved: int
    items: list[AlertOut] = Field(description="The latest 100")


class IncidentDetail(IncidentOut):
    summary: str
    acknowledged_by: str | None
    milestones: Milestones
    runbooks: list[AttachedRunbook]
    checklist: list[ChecklistItemOut]
    alerts: AlertsOut


class StatusChange(BaseModel):
    status: Status
    note: text(0, 2000) = ""


class NoteIn(BaseModel):
    text: text(1, 10_000)


class NoteOut(BaseModel):
    id: int
    incident: int
    text: str
    at: datetime
    by: str


class SkipIn(BaseModel):
    reason: text(1, 500)


class RunbookOut(BaseModel):
    slug: str
    key: str | None
    title: str
    service: str | None
    alerts: list[str]
    summary: str
    version: int
    url: str


class RunbookList(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[RunbookOut]


class MatchOut(BaseModel):
    runbook: RunbookOut
    score: float
    reasons: list[str]


class Delivery(BaseModel):
    delivery: int = Field(description="The inbox line's id (the admin's Alert deliveries)")
    decision: str = Field(description="new_incident, added, resolved, duplicate, ignored, rejected or failed")
    reason: str
    incident: int | None
    incident_url: str | None


class PostmortemSectionOut(BaseModel):
    key: str
    title: str
    text: str = Field(description="Markdown, as people wrote it (or as drafted)")
    drafted: bool = Field(description="Still the drafted text: regenerating the draft replaces it")
    updated_by: str | None
    updated_at: datetime | None


class ActionItemOut(BaseModel):
    id: int
    description: str
    owner: str | None
    due_date: date
    priority: str
    status: str
    reason: str
    runbook: str | None = Field(description="Slug of the runbook the item asks to change")


class PostmortemOut(BaseModel):
    incident: int
    state: str = Field(description="draft, in_review or published")
    drafted_at: datetime | None
    published_at: datetime | None
    published_by: str | None
    waived: bool
    waiver_reason: str
    sections: list[PostmortemSectionOut]
    action_items: list[ActionItemOut]
    markdown: str = Field(description="The whole postmortem as one self-contained Markdown document")
