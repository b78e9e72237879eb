"""One alert per file: YAML front matter names the alert, service and severity, the body is its runbook.

---
alert: QueueDepthHigh
service: billing-worker
severity: warning
---
"""

from __future__ import annotations

from runbooks.importer.recognisers.base import Found
from runbooks.importer.recognisers.heading_runbooks import HeadingRunbooks, Kind
from runbooks.importer.sections import Paragraph, Tree
from runbooks.importer.steps import Fields, StepWriter, is_key

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


class FrontMatterAlert:
    def recognise(self, tree: Tree, found: Found) -> None:
        fm = tree.front_matter
        if not fm or not any(k in fm for k in (*ALERT_KEYS, *FIELD_KEYS)):
            return
        mine = [rb for _, rb in found.runbooks]
        if not mine and any(k in fm for k in ALERT_KEYS):
            headings = HeadingRunbooks()
            headings.tree = tree
            root = tree.root
            headings.kind(root)  # the sections' kinds, which reading the steps relies on
            kind = Kind.PHASED if root.children else Kind.LEAF
            runbook = headings.build(root, kind, found)
            if not runbook.steps:
                # an alert file written as prose: after the first paragraph (its summary), each is a step
                writer = StepWriter(Fields(), base_phase="other")
                blocks = root.blocks
                if blocks and isinstance(blocks[0], Paragraph):
                    blocks = blocks[1:]
                writer.blocks(blocks, None, None, mode="steps")
                runbook.steps = writer.steps
            runbook.title = front_matter_title(fm) or runbook.title
            found.add_runbook(1, runbook)
            mine = [runbook]
        if not mine:
            return
        alerts = [
            a for k in ("alert", "alertname", "alert_name", "alerts", "alarm") for a in _texts(fm.get(k))
        ]
        service = _text(fm.get("service") or fm.get("services") or fm.get("component"))
        severity = _text(fm.get("severity") or fm.get("priority"))
        key = _text(fm.get("id") or fm.get("key") or fm.get("runbook_id"))
        for runbook in mine:
            runbook.service = runbook.service or service
            runbook.severity = runbook.severity or severity
        if len(mine) == 1:
            runbook = mine[0]
            for alert in alerts:
                if alert not in runbook.alerts:
                    runbook.alerts.append(alert)
            if key and is_key(key) and not runbook.key:
                runbook.key = key
            if not runbook.title:
                runbook.title = front_matter_title(fm) or runbook.title
