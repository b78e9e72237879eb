"""Blocks to steps, shared by every runbook recogniser.

One list item is one step (nested items are steps of their own, in order); a code block is one command
of the step it belongs to; a paragraph ending in ':' introduces the code under it; a bold line
('**Mitigation**:') is a sub-heading. Metadata lines (Alert, Severity, Service, Error) fill the runbook's
fields instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice

from runbooks.importer.commands import block_command, looks_like_command, split_commands
from runbooks.importer.inline import (
    code_spans,
    collapse,
    plain,
    safe_text,
    split_label,
    strip_symbols,
    whole_bold,
)
from runbooks.importer.sections import Block, Code, ListBlock, ListItem, Paragraph, Table
from runbooks.importer.types import ImportedCommand, ImportedStep
from runbooks.importer.vocabulary import (
    drop_numbering,
    drop_step_number,
    is_descriptive,
    metadata_kind,
    phase_of,
)

MAX_STEP_TEXT = 4000
KEY = re.compile(r"\b([A-Z][A-Z0-9]{1,15}(?:[-_][A-Z0-9]{1,15}){1,4})\b")
_QUOTED = re.compile(r"\"([^\"\n]{3,200})\"|“([^”\n]{3,200})”|`([^`\n]{2,200})`")
_ERROR_AFTER = re.compile(r"^\W{0,3}(?:\w+\s){0,2}(?:errors?|logs?|exceptions?|messages?|failures?)\b", re.I)
_ERROR_BEFORE = re.compile(
    r"(?:\bshows?|\bshowing|\bsays?|\bsaying|\bwith|\berror:?|\bmessage:?|\blogs?:?"
    r"|\bthrows?|\breturns?|\braises?)\s*$",
    re.IGNORECASE,
)
_ASIDE = re.compile(r"^(?:note|nb|warning|caution|tip|important|info|hint|danger|heads up)$", re.IGNORECASE)
_ALERT_NAME = re.compile(r"^[A-Za-z][\w.:-]{2,120}$")


def _split_trailing_labels(text: str) -> tuple[str, str | None]:
    """'Check logs\n**Mitigation**:' -> ('Check logs', 'Mitigation'): a label line after an item's text
    belongs to the items below it (Markdown joins it to the item as a lazy continuation line)."""
    if "\n" not in text:
        return text, None
    lines = text.split("\n")
    for n in range(1, len(lines)):
        line = lines[n].strip()
        label = split_label(line, plain_labels=False)
        bold = whole_bold(line)
        if (label is not None and label.bold and not label.rest) or (
            bold and not bold.endswith((".", "!", "?"))
        ):
            words = label.label if label is not None else plain(bold).rstrip(":").strip()
            return "\n".join(lines[:n]), words
    return text, None


def is_key(text: str) -> bool:
    return bool(KEY.fullmatch(text.strip())) and any(c.isdigit() for c in text)


@dataclass
class Fields:
    """A runbook's own facts, gathered while its steps are read."""

    key: str | None = None
    service: str | None = None
    severity: str | None = None
    alerts: list[str] = field(default_factory=list)
    error_patterns: list[str] = field(default_factory=list)
    summary: str = ""
    summary_labelled: bool = False

    def add_alert(self, name: str) -> None:
        name = name.strip().strip("`'\"")
        if name and name not in self.alerts:
            self.alerts.append(name)

    def add_error(self, text: str) -> None:
        text = text.strip().strip("`'\"").strip()
        if text and len(text) <= 300 and text not in self.error_patterns:
            self.error_patterns.append(text)

    def record(self, kind: str, value: str) -> None:
        """Take a metadata line's value ('alert', 'severity', 'service', 'error' or 'key')."""
        words = plain(value)
        if kind == "alert":
            spans = [s.content for s in code_spans(value)]
            for name in spans or [w.strip() for w in re.split(r"[,;]", words)]:
                if _ALERT_NAME.match(name.strip()):
                    self.add_alert(name)
        elif kind == "severity" and words and self.severity is None:
            self.severity = strip_symbols(words.split(" (")[0])[:60] or None
        elif kind == "service" and words and self.service is None:
            self.service = words.strip("`'\"")[:120]
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


class StepWriter:
    """Collects the steps of one runbook, in document order."""

    def __init__(self, fields: Fields, base_phase: str = "other"):
        self.fields = fields
        self.base_phase = base_phase
        self.steps: list[ImportedStep] = []

    def add(
        self,
        text: str,
        *,
        heading: str | None,
        phase: str | None,
        commands: list[ImportedCommand] = (),
        checkbox: bool = False,
    ) -> None:
        text = drop_step_number(safe_text(collapse(text)[: MAX_STEP_TEXT * 2]))
        if len(text) > MAX_STEP_TEXT:
            text = text[:MAX_STEP_TEXT].rstrip() + " …"
        if not text and not commands:
            return
        step = ImportedStep(
            phase=phase or self.base_phase,
            heading=heading,
            text=text,
            checkbox=checkbox,
            commands=list(commands),
        )
        self.steps.append(step)
        self.fields.errors_in(text)

    # --- blocks ---------------------------------------------------------------------------------------

    def blocks(
        self, blocks: list[Block], heading: str | None, phase: str | None, *, mode: str = "steps"
    ) -> None:
        """mode: 'steps' (a phase's content), 'top' (directly under the runbook's title: prose is its
        summary), 'describe' (Meaning, Impact: prose only) or 'metadata' (an Alert section's fields)."""
        i = 0
        while i < len(blocks):
            block = blocks[i]
            i += 1
            if block.claimed:
                continue
            if isinstance(block, Paragraph):
                nxt = blocks[i] if i < len(blocks) and not blocks[i].claimed else None
                # islice, not blocks[i:]: a copy per paragraph would make long sections quadratic
                after = islice(blocks, i, None)
                heading, phase, took = self.paragraph(block, nxt, after, heading, phase, mode)
                i += took
            elif isinstance(block, Code):
                command = block_command(block.text, block.language)
                if command and mode != "metadata":
                    self.add("", heading=heading, phase=phase, commands=[command])
            elif isinstance(block, ListBlock):
                for item in block.items:
                    heading, phase = self.item(item, heading, phase, mode)
            elif isinstance(block, Table) and mode in ("steps", "top"):
                self.table(block, heading, phase)

    def paragraph(
        self,
        para: Paragraph,
        nxt: Block | None,
        after: Iterable[Block],
        heading: str | None,
        phase: str | None,
        mode: str,
    ) -> tuple[str | None, str | None, int]:
        """Read one paragraph; returns the heading and phase for what follows and how many blocks it took."""
        pending: list[str] = []

        def flush() -> int:
            text = "\n".join(pending).strip()
            pending.clear()
            return self._prose(text, para, nxt, after, heading, phase, mode) if text else 0

        took = 0
        for raw in para.text.split("\n"):
            line = raw.strip()
            if not line:
                continue
            bold = whole_bold(line)
            label = split_label(line)
            if label is not None:
                kind = metadata_kind(label.label, in_alert_section=mode == "metadata")
                if kind and (label.bold or mode == "metadata" or kind in ("alert", "severity", "service")):
                    took += flush()
                    if kind != "ignore":
                        self.fields.record(kind, label.rest)
                    continue
                if label.bold:
                    took += flush()
                    if _ASIDE.match(label.label) or (para.quoted and not split_commands(label.rest).commands):
                        continue  # '> **Note:** ...' is an aside: neither a step nor a heading
                    heading = label.label
                    phase = phase_of(label.label) or phase
                    if label.rest and mode != "metadata":
                        if mode == "describe" or (mode == "top" and not phase_of(label.label)):
                            self.fields.note(label.rest, labelled=is_descriptive(label.label))
                        else:
                            split = split_commands(label.rest)
                            self.add(split.text, heading=heading, phase=phase, commands=split.commands)
                    continue
            if bold is not None and not bold.endswith((".", "!", "?")) and len(bold) <= 120:
                took += flush()
                heading = plain(bold).rstrip(":").strip()
                phase = phase_of(heading) or phase
                continue
            if label is not None and mode in ("top", "describe") and is_descriptive(label.label):
                took += flush()  # 'SUMMARY: the cluster is red' in a plain-text runbook
                self.fields.note(label.rest, labelled=True)
                continue
            pending.append(line)
        took += flush()
        return heading, phase, took

    def _prose(
        self,
        text: str,
        para: Paragraph,
        nxt: Block | None,
        after: Iterable[Block],
        heading: str | None,
        phase: str | None,
        mode: str,
    ) -> int:
        if mode == "metadata":
            self.fields.note(text)
            return 0
        split = split_commands(text)
        introduces = text.rstrip().endswith(":")
        if isinstance(nxt, Code) and (introduces or mode == "steps") and not para.quoted:
            commands = list(split.commands)
            took = 0
            for block in after:  # the code blocks right under it are its commands
                if not isinstance(block, Code) or block.claimed:
                    break
                command = block_command(block.text, block.language)
                if command:
                    commands.append(command)
                took += 1
            self.add(split.text.rstrip(":").strip(), heading=heading, phase=phase, commands=commands)
            return took
        if introduces and isinstance(nxt, ListBlock):
            if mode in ("top", "describe"):
                self.fields.note(text)
            return 0  # "After every incident:" introduces the list; the items are the steps
        if split.commands and not para.quoted:
            self.add(split.text, heading=heading, phase=phase, commands=split.commands)
        elif mode in ("top", "describe") or para.quoted:
            self.fields.note(text)
        else:
            self.add(text, heading=heading, phase=phase)
        return 0

    def item(
        self, item: ListItem, heading: str | None, phase: str | None, mode: str
    ) -> tuple[str | None, str | None]:
        """Read one list item (and its nested items); returns the heading and phase for the items after it."""
        blocks = [b for b in item.blocks if not b.claimed]
        first = (
            blocks[0] if blocks and isinstance(blocks[0], Paragraph) and blocks[0] is item.blocks[0] else None
        )
        text = first.text if first else ""
        rest = blocks[1:] if first else blocks
        text, after = _split_trailing_labels(text)
        next_heading, next_phase = heading, phase
        if after is not None:  # '- last step\n**Mitigation**:' - a label line swallowed by the item above it
            next_heading, next_phase = after, phase_of(after) or phase
        label = split_label(text) if text else None
        bold = whole_bold(text) if text else None
        nested = [b for b in rest if isinstance(b, ListBlock)]
        codes = [b for b in rest if isinstance(b, Code)]

        if label is not None:
            kind = metadata_kind(label.label, in_alert_section=mode == "metadata")
            if kind and kind != "ignore":
                self.fields.record(kind, label.rest)
            if mode == "metadata" and kind:
                return next_heading, next_phase
        if mode == "metadata":
            return next_heading, next_phase
        if mode == "describe" and not codes:
            self.fields.note(text)
            return next_heading, next_phase
        # '3. **Mitigation**:' over a nested list is a sub-heading, not a step
        heading_words = (
            bold if bold is not None else (label.label if label and label.bold and not label.rest else None)
        )
        if heading_words and nested and not codes:
            sub = plain(heading_words).rstrip(":").strip()
            self.blocks(rest, sub, phase_of(sub) or phase, mode="steps")
            return next_heading, next_phase

        split = split_commands(text)
        words = split.text
        if bold is not None and words == text.strip():
            words = plain(bold)
        commands = list(split.commands)
        extra: list[str] = []
        for block in rest:
            if isinstance(block, Code):
                command = block_command(block.text, block.language)
                if command:
                    commands.append(command)
            elif isinstance(block, Paragraph):
                more = split_commands(block.text)
                commands.extend(more.commands)
                if more.text and not block.quoted:
                    extra.append(more.text)
        if extra and len(words) + sum(map(len, extra)) <= MAX_STEP_TEXT:
            words = " ".join([words, *extra]).strip()
        if commands:
            words = words.rstrip(":").strip()
        # an item that only names a phase ('1. **Immediate Actions**' over its commands) is in that phase
        own_phase = phase_of(words) if bold is not None else None
        self.add(words, heading=heading, phase=own_phase or phase, commands=commands, checkbox=item.checkbox)
        for block in nested:
            self.blocks([block], heading, phase, mode=mode)
        return next_heading, next_phase

    def table(self, table: Table, heading: str | None, phase: str | None) -> None:
        """A table of steps: one row is one step, code in any cell is its command."""
        for row in table.rows:
            words: list[str] = []
            commands: list[ImportedCommand] = []
            for n, value in enumerate(row):
                if n == 0 and value.strip().rstrip(".").isdigit():
                    continue  # the step's number
                split = split_commands(value)
                commands.extend(split.commands)
                if split.text:
                    words.append(split.text)
            text = " — ".join(w for w in words if w)
            if commands or len(words) >= 1:
                self.add(
                    drop_numbering(text) if text else "", heading=heading, phase=phase, commands=commands
                )
