"""A runbook's own facts (key, service, owner, severity, alerts, error patterns, summary), gathered while its
steps are read: from metadata lines ('**Severity:** High'), tables and definition lists, alert payloads,
output blocks and quoted error text in symptoms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runbooks.importer.commands import looks_like_command
from runbooks.importer.inline import code_spans, collapse, plain, safe_text, strip_symbols

MAX_STEP_TEXT = 4000
KEY = re.compile(r"\b([A-Z][A-Z0-9]{1,15}(?:[-_][A-Z0-9]{1,15}){1,4})\b")
_QUOTED = re.compile(r"\"([^\"\n]{3,200})\"|“([^”\n]{3,200})”|`([^`\n]{2,200})`")
_ERROR_AFTER = re.compile(r"^\W{0,3}(?:\w+\s){0,2}(?:errors?|logs?|exceptions?|messages?|failures?)\b", re.I)
_ERROR_BEFORE = re.compile(
    r"(?:\bshows?|\bshowing|\bsays?|\bsaying|\bwith|\berror:?|\bmessage:?|\blogs?:?"
    r"|\bthrows?|\breturns?|\braises?|\bcause an?|\bwith the error|\breports?|\bsees?|\bget)\s*$",
    re.IGNORECASE,
)
_ALERT_NAME = re.compile(r"^[A-Za-z][\w.:*-]{2,120}$")
_ALERT_LINK = re.compile(r"\[`?([A-Za-z][\w.*-]{2,80})`?\](?:\[[^\]]*\]|\([^)]*\))?")


def is_key(text: str) -> bool:
    return bool(KEY.fullmatch(text.strip())) and any(c.isdigit() for c in text)


@dataclass
class Fields:
    """A runbook's own facts, gathered while its steps are read."""

    key: str | None = None
    service: str | None = None
    owner: str | None = None
    severity: str | None = None
    alerts: list[str] = field(default_factory=list)
    error_patterns: list[str] = field(default_factory=list)
    summary: str = ""
    summary_labelled: bool = False

    def add_alert(self, name: str) -> None:
        name = name.strip().strip("`'\"")
        if name and _ALERT_NAME.match(name) and name not in self.alerts:
            self.alerts.append(name)

    def add_error(self, text: str) -> None:
        text = text.strip().strip("`'\"").strip()
        if text and len(text) <= 300 and text not in self.error_patterns:
            self.error_patterns.append(text)

    def record(self, kind: str, value: str) -> None:
        """Take a metadata line's value ('alert', 'severity', 'service', 'owner', 'error' or 'key')."""
        words = plain(value)
        if kind == "alert":
            spans = [s.content for s in code_spans(value)]
            for name in spans or [w.strip() for w in re.split(r"[,;]", words)]:
                self.add_alert(name)
        elif kind == "severity" and words and self.severity is None:
            self.severity = strip_symbols(words.split(" (")[0])[:60] or None
        elif kind == "service" and words and self.service is None:
            self.service = words.strip("`'\"")[:120]
        elif kind == "owner" and words and self.owner is None:
            self.owner = words.strip("`'\"")[:120]
        elif kind == "error":
            quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(value)]
            for pattern in quoted or re.split(r"\s+or\s+", words):
                self.add_error(pattern)
        elif kind == "key" and self.key is None and is_key(words):
            self.key = words

    def note(self, text: str, *, labelled: bool = False) -> None:
        """Prose about the runbook: the first becomes its summary, unless a later one is labelled as such."""
        if text.strip() and (not self.summary or (labelled and not self.summary_labelled)):
            self.summary = safe_text(collapse(text)[: MAX_STEP_TEXT * 2])[:MAX_STEP_TEXT]
            self.summary_labelled = labelled

    def errors_in(self, text: str) -> None:
        """Quoted error text in a symptom ('logs show "connection refused"', '`OOMKilled` errors')."""
        if '"' not in text and "`" not in text and "“" not in text:
            return
        for match in _QUOTED.finditer(text):
            quoted = next(g for g in match.groups() if g)
            if looks_like_command(quoted):
                continue
            before, after = (
                text[max(0, match.start() - 40) : match.start()],
                text[match.end() : match.end() + 40],
            )
            if _ERROR_AFTER.search(after) or _ERROR_BEFORE.search(before):
                self.add_error(quoted)

    def alerts_in(self, text: str) -> None:
        """'The [High5xxRate] alert fires when...': alert names written as (reference) links."""
        if "alert" not in text.lower() or "[" not in text:
            return
        for match in _ALERT_LINK.finditer(text):
            name = match.group(1)
            named = name.lower() not in ("this alert", "here", "link") and not name.startswith("link-")
            if named and (re.search(r"[A-Z]", name[1:]) or "-" in name or "_" in name):
                self.add_alert(name)

    def labels(self, labels: dict[str, str]) -> None:
        """An alert payload's labels: alertname, severity, service, team/owner."""
        if labels.get("alertname"):
            self.add_alert(labels["alertname"])
        if labels.get("severity") and self.severity is None:
            self.severity = labels["severity"][:60]
        for key in ("team", "owner"):
            if labels.get(key) and self.owner is None:
                self.owner = labels[key][:120]
