"""SOP entries: a bracketed id opening a block of 'Field: value' lines, then the resolution.

    [KEY-101] Service: some-service
    Error Pattern: "some error text" or "another"
    Context: why it happens
    Resolution Step:
    1. do this
    2. Run command: ./fix.sh --now

An entry runs until the next entry or the end of its section. Its title is 'service: error pattern'.
"""

from __future__ import annotations

import re

from runbooks.importer.fields import Fields, is_key
from runbooks.importer.inline import Label, plain, split_label
from runbooks.importer.recognisers.base import Found
from runbooks.importer.sections import Block, Paragraph, Section, Tree
from runbooks.importer.steps import StepWriter
from runbooks.importer.types import ImportedRunbook
from runbooks.importer.vocabulary import is_descriptive, metadata_kind, phase_of

_ENTRY = re.compile(
    r"^\s*(?:\*\*)?\[\s*([A-Z][A-Z0-9]{1,15}(?:[-_][A-Z0-9]{1,15}){1,4})\s*\](?:\*\*)?[ \t]*(.*)$"
)


def _entry_key(block: Block) -> str | None:
    if not isinstance(block, Paragraph):
        return None
    match = _ENTRY.match(block.text.split("\n", 1)[0])
    return match.group(1) if match and is_key(match.group(1)) else None


class SopEntries:
    def recognise(self, tree: Tree, found: Found) -> None:
        for section in tree.root.walk():
            starts = [n for n, block in enumerate(section.blocks) if not block.claimed and _entry_key(block)]
            for position, start in enumerate(starts):
                stop = starts[position + 1] if position + 1 < len(starts) else len(section.blocks)
                entry = [b for b in section.blocks[start:stop] if not b.claimed]
                end_line = (
                    section.blocks[stop].line if stop < len(section.blocks) else _section_body_end(section)
                )
                found.add_runbook(entry[0].line, self.build(entry, tree.source(entry[0].line, end_line)))
                for block in entry:
                    block.claimed = True

    def build(self, entry: list[Block], body: str) -> ImportedRunbook:
        head = entry[0]
        assert isinstance(head, Paragraph)
        lines = head.text.split("\n")
        match = _ENTRY.match(lines[0])
        fields = Fields(key=match.group(1))
        writer = StepWriter(fields, base_phase="remediation")
        first = match.group(2).strip()
        title_words = ""
        heading: str | None = None
        phase: str | None = None
        for n, line in enumerate(([first] if first else []) + lines[1:]):
            label = _label(line)
            kind = metadata_kind(label.label) if label else None
            if label and kind:
                if kind != "ignore":
                    fields.record(kind, label.rest)
                heading = None
            elif label and phase_of(label.label) and not is_descriptive(label.label):
                heading, phase = label.label, phase_of(label.label)
                if label.rest:
                    self._step(label.rest, writer, heading, phase)
            elif heading is not None:
                self._step(
                    line, writer, heading, phase
                )  # the resolution, written on the lines under its label
            elif label:  # Context, Internal Policy, Notes: background for the responder, not steps
                if is_descriptive(label.label):
                    fields.note(label.rest)
            elif n == 0 and first:
                title_words = plain(line)
            else:
                fields.note(line)
        writer.blocks(entry[1:], heading, phase)
        return ImportedRunbook(
            title=self._title(fields, title_words),
            key=fields.key,
            service=fields.service,
            alerts=fields.alerts,
            owner=fields.owner,
            error_patterns=fields.error_patterns,
            severity=fields.severity,
            steps=writer.steps,
            summary=fields.summary,
            body_markdown=body.rstrip() + "\n",
        )

    @staticmethod
    def _step(line: str, writer: StepWriter, heading: str | None, phase: str | None) -> None:
        writer.paragraph(Paragraph(text=line, line=0), [], None, heading, phase)

    @staticmethod
    def _title(fields: Fields, words: str) -> str:
        problem = " or ".join(fields.error_patterns) or words or ", ".join(fields.alerts)
        if fields.service and problem:
            return f"{fields.service}: {problem}"
        return problem or fields.service or fields.key or "Untitled entry"


def _label(line: str) -> Label | None:
    """'Field: value', or 'Resolution Step:' alone on its line (a label whose value is what follows)."""
    label = split_label(line)
    if label is None and line.rstrip().endswith(":") and 0 < len(line.split()) <= 5:
        return Label(plain(line.rstrip().rstrip(":")), "", False)
    return label


def _section_body_end(section: Section) -> int:
    return section.children[0].line if section.children else section.end_line
