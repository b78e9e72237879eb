"""What the importer yields: plain dataclasses (no ORM), testable and previewable without a database.

Field names follow the JSON contract in shared/import-format.md; the optional fields this project adds to
it (a document's `shape` and `why`, a runbook's `owner`, a step's `cautions` and `caution`) are described in
docs/import-format.md. `summary` and `body_markdown` are kept for the console only and are not part of the
contract output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PHASES = (
    "detection",
    "triage",
    "investigation",
    "mitigation",
    "remediation",
    "verification",
    "prevention",
    "post-incident",
    "other",
)


@dataclass(slots=True)
class ImportedCommand:
    language: str
    text: str


@dataclass(slots=True)
class ImportedStep:
    phase: str = "other"
    heading: str | None = None
    text: str = ""
    checkbox: bool = False
    commands: list[ImportedCommand] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)  # warnings attached to this step
    caution: bool = False  # the step is itself a caution (it stood before any step)


@dataclass(slots=True)
class ImportedRunbook:
    title: str
    key: str | None = None
    service: str | None = None
    alerts: list[str] = field(default_factory=list)
    error_patterns: list[str] = field(default_factory=list)
    severity: str | None = None
    owner: str | None = None
    steps: list[ImportedStep] = field(default_factory=list)
    summary: str = ""
    body_markdown: str = ""


@dataclass(slots=True)
class ImportedSeverity:
    name: str
    rank: int
    description: str | None = None
    response_minutes: int | None = None
    examples: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImportedContact:
    name: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    handle: str | None = None
    channel: str | None = None
    via: str | None = None


@dataclass(slots=True)
class ImportedEscalation:
    severity: str | None = None
    notify: list[str] = field(default_factory=list)
    within_minutes: int | None = None
    action: str | None = None


@dataclass(slots=True)
class ImportedDocument:
    source: str
    title: str = ""
    shape: str = ""  # procedure | catalogue | policy | mix (see runbooks.importer.shape)
    why: list[str] = field(default_factory=list)  # the reasons for that shape, in words
    split: str = "auto"  # how the document was asked to be read: auto | document | h2 | h3
    runbooks: list[ImportedRunbook] = field(default_factory=list)
    severity_levels: list[ImportedSeverity] = field(default_factory=list)
    contacts: list[ImportedContact] = field(default_factory=list)
    escalation: list[ImportedEscalation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
