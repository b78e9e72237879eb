"""The payloads the webhooks accept, as pydantic models: the one definition used to validate a delivery and to
document it in the OpenAPI schema. Both are normalised to `GroupIn` / `AlertIn` for ingest.py.

Alertmanager: the webhook payload version 4, as Prometheus Alertmanager sends it (fields it may add later are
ignored, fields we rely on are required). Generic JSON: the minimal shape below, for tools without Alertmanager.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_ALERTS = 1000
MAX_TEXT = 10_000




def no_nul(value: str) -> str:
    """PostgreSQL stores no NUL character (in text or JSON): refuse it here rather than fail later."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(no_nul)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(no_nul)]
Labels = dict[Annotated[str, StringConstraints(max_length=200), AfterValidator(no_nul)], Text]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(no_nul)]


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None


def _zero_is_none(value: datetime | None) -> datetime | None:
    # Alertmanager sends 0001-01-01T00:00:00Z for "no end yet".
    if value is None or value.year <= 1:
        return None
    return _utc(value)


class AlertmanagerAlert(BaseModel):
    """One alert of an Alertmanager notification."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: Text = ""  # noqa: N815
    fingerprint: Key

    @field_validator("endsAt")
    @classmethod
    def _no_end_yet(cls, value: datetime | None) -> datetime | None:
        return _zero_is_none(value)

    @field_validator("startsAt")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.year <= 1:
            raise ValueError("startsAt must be a real time")
        return _utc(value)


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook payload, version 4."""

    model_config = ConfigDict(extra="ignore", title="AlertmanagerPayload")

    version: Literal["4"]
    groupKey: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT), AfterValidator(no_nul)]  # noqa: N815
    truncatedAlerts: int = Field(default=0, ge=0)  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: Text = ""
    groupLabels: Labels = Field(default_factory=dict)  # noqa: N815
    commonLabels: Labels = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: Labels = Field(default_factory=dict)  # noqa: N815
    externalURL: Text = ""  # noqa: N815
    alerts: list[AlertmanagerAlert] = Field(min_length=1, max_length=MAX_ALERTS)


class Link(BaseModel):
    model_config = ConfigDict(extra="ignore")

    href: Url
    text: Text = ""


class GenericPayload(BaseModel):
    """The generic alert shape: one alert per request. The same dedup key while firing is the same alert (and
    the same incident while it is open); `status: resolved` with that key resolves it."""

    model_config = ConfigDict(extra="ignore", title="GenericAlert", json_schema_extra={"examples": [{
        "title": "Disk almost full on db-1", "severity": "warning", "service": "postgres",
        "dedup_key": "db-1/disk/var", "status": "firing", "details": "/var is 93% full",
        "links": [{"href": "https://grafana.example.com/d/disk", "text": "Disk dashboard"}],
    }]})

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                     AfterValidator(no_nul)]
    dedup_key: Key = Field(description="Same key, same alert: repeats are counted, not re-declared")
    status: Literal["firing", "resolved"] = "firing"
    severity: Annotated[str, StringConstraints(max_length=100), AfterValidator(no_nul)] = Field(
        default="", description="A level name or alias (SEV1, P2, critical, ...), mapped as the integration says")
    service: Annotated[str, StringConstraints(max_length=200), AfterValidator(no_nul)] = ""
    details: Text | dict[str, Any] = Field(default="", description="Free text, or an object shown as key: value")
    links: list[Link | Url] = Field(
        default_factory=list, max_length=20)
    started_at: datetime | None = Field(default=None, description="When it began (default: when first received)")

    @field_validator("started_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _zero_is_none(value)

    @field_validator("details")
    @classmethod
    def _details_small(cls, value):
        if isinstance(value, dict):
            text = json.dumps(value, default=str)
            if len(text) > MAX_TEXT or "\x00" in text or "\\u0000" in text:
                raise ValueError(f"keep details under {MAX_TEXT:,} characters, without NUL characters")
        return value


# --- what ingest.py works on ---------------------------------------------------------------------------


@dataclass
class AlertIn:
    fingerprint: str
    status: str
    starts_at: datetime | None
    ends_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    name: str = ""
    summary: str = ""
    generator_url: str = ""


@dataclass
class GroupIn:
    key: str
    status: str
    alerts: list[AlertIn]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    truncated: int = 0
    external_url: str = ""
    title: str = ""
    severity_value: str | None = None  # generic: given directly; Alertmanager: read from each alert's labels
    service_name: str = ""
    details: str = ""
    links: list[str] = field(default_factory=list)


def from_alertmanager(payload: AlertmanagerPayload) -> GroupIn:
    common = dict(payload.commonLabels)
    alerts = []
    for a in payload.alerts:
        labels = dict(a.labels)
        alerts.append(AlertIn(
            fingerprint=a.fingerprint, status=a.status, starts_at=a.startsAt, ends_at=a.endsAt, labels=labels,
            annotations=dict(a.annotations), name=labels.get("alertname", "")[:200],
            summary=(a.annotations.get("summary") or a.annotations.get("description") or "")[:2000],
            generator_url=a.generatorURL,
        ))
    name = common.get("alertname") or payload.groupLabels.get("alertname") or alerts[0].name or "Alert"
    summary = payload.commonAnnotations.get("summary") or (alerts[0].summary if len(alerts) == 1 else "")
    title = f"{name}: {summary}" if summary and summary != name else name
    return GroupIn(
        key=payload.groupKey, status=payload.status, alerts=alerts, labels={**payload.groupLabels, **common},
        annotations=dict(payload.commonAnnotations), truncated=payload.truncatedAlerts,
        external_url=payload.externalURL, title=_cut(title, 200),
        service_name=common.get("service") or common.get("job") or "",
    )


def from_generic(payload: GenericPayload) -> GroupIn:
    if isinstance(payload.details, dict):
        details = "\n".join(f"{k}: {v}" for k, v in payload.details.items())
    else:
        details = payload.details
    links = [link.href if isinstance(link, Link) else link for link in payload.links]
    labels = {"alertname": payload.title[:200]}
    if payload.service:
        labels["service"] = payload.service
    if payload.severity:
        labels["severity"] = payload.severity
    alert = AlertIn(
        fingerprint=payload.dedup_key, status=payload.status, starts_at=payload.started_at, labels=labels,
        annotations={"summary": payload.title, "description": details[:MAX_TEXT]}, name=payload.title[:200],
        summary=payload.title, generator_url=links[0] if links else "",
    )
    return GroupIn(
        key=payload.dedup_key, status=payload.status, alerts=[alert], labels=labels, title=payload.title,
        severity_value=payload.severity, service_name=payload.service, details=details, links=links,
        annotations={"description": details[:MAX_TEXT]},
    )


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
