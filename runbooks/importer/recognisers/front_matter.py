"""YAML front matter: the title, a one-alert file's alert, service and severity, and the owner's channel.

---
alert: QueueDepthHigh
service: billing-worker
severity: warning
---
"""

from __future__ import annotations

from runbooks.importer.fields import is_key
from runbooks.importer.recognisers.base import Found
from runbooks.importer.types import ImportedContact

ALERT_KEYS = ("alert", "alertname", "alert_name", "alerts", "alarm", "name")
FIELD_KEYS = ("service", "services", "component", "severity", "priority", "id", "key", "runbook_id")


def _text(value) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None or isinstance(value, (dict, bool)):
        return None
    text = str(value).strip()
    return text[:200] or None


def _texts(value) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [str(v).strip()[:200] for v in items if isinstance(v, (str, int, float)) and str(v).strip()]


def front_matter_title(front_matter: dict) -> str | None:
    for key in ("title", *ALERT_KEYS):
        text = _text(front_matter.get(key))
        if text:
            return text
    return None


def apply_front_matter(fm: dict, found: Found) -> None:
    """Front matter names a one-alert file's alert, service, severity and id; an owner's chat channel
    ('owner_slack: "#team"') is a contact."""
    if not fm:
        return
    _contacts(fm, found)
    mine = [rb for _, rb in found.runbooks]
    if not mine:
        return
    alerts = [a for k in ("alert", "alertname", "alert_name", "alerts", "alarm") for a in _texts(fm.get(k))]
    service = _text(fm.get("service") or fm.get("services") or fm.get("component"))
    severity = _text(fm.get("severity") or fm.get("priority"))
    key = _text(fm.get("id") or fm.get("key") or fm.get("runbook_id"))
    owner = _text(fm.get("owner") or fm.get("team") or fm.get("owner_team"))
    for runbook in mine:
        runbook.service = runbook.service or service
        runbook.severity = runbook.severity or severity
        runbook.owner = runbook.owner or owner
    if len(mine) == 1:
        runbook = mine[0]
        for alert in alerts:
            if alert not in runbook.alerts:
                runbook.alerts.append(alert)
        if key and is_key(key) and not runbook.key:
            runbook.key = key
        if not runbook.title:
            runbook.title = front_matter_title(fm) or runbook.title


_CHANNEL_KEYS = ("owner_slack", "slack", "slack_channel", "owner_channel", "team_slack", "channel", "contact_slack")


def _contacts(fm: dict, found: Found) -> None:
    for key in _CHANNEL_KEYS:
        value = _text(fm.get(key))
        channel = value and value.startswith("#") and len(value) > 1 and " " not in value
        if channel and not any(c.channel == value for c in found.contacts):
            found.contacts.append(ImportedContact(role=None, channel=value, via="Slack"))
