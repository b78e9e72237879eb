"""A runbook from one unit of the document's shape: its sections read in order into steps and fields."""

from __future__ import annotations

from runbooks.importer.fields import Fields
from runbooks.importer.inline import plain, split_label
from runbooks.importer.recognisers.titles import read_title
from runbooks.importer.sections import ListBlock, Paragraph, Section, Tree
from runbooks.importer.shape import Shape, Unit
from runbooks.importer.steps import StepWriter
from runbooks.importer.types import ImportedRunbook
from runbooks.importer.vocabulary import clean_heading, is_metadata_heading, metadata_kind, phase_of, severity_cell
from runbooks.importer.wording import TitleClass, title_class


def build_runbook(unit: Unit, tree: Tree, shape: Shape) -> ImportedRunbook:
    title = read_title(unit.title) if unit.title else None
    fields = Fields(key=title.key if title else None)
    for alert in title.alerts if title else []:
        fields.add_alert(alert)
    words = title.text if title else ""
    if unit.section is not None and unit.section.level > 0 and title_class(unit.section.title) == TitleClass.ENTRY:
        fields.add_alert(plain(unit.section.title).strip("`* "))
    writer = StepWriter(fields, base_phase=phase_of(words) or "other")
    reader = _Reader(writer, shape, unit)
    reader.title_line = plain(words).strip() if unit.section is not None and unit.section.level == 0 else ""
    for section in unit.before:
        reader.section(section, None)
    if unit.section is not None:
        top = unit.section
        heading = clean_heading(top.title) if top.level > 0 and "<%" not in top.title else None
        reader.section(
            top, heading, whole=unit.whole, phase=phase_of(top.title) if top.level > 0 else None, own=True
        )
    for section in unit.after:
        reader.section(section, None)
    for section in unit.own_sections:
        heading = clean_heading(section.title) if section.level > 0 and "<%" not in section.title else None
        reader.section(section, heading, whole=False, phase=phase_of(section.title) if section.level else None)
    first = unit.section or (unit.own_sections[0] if unit.own_sections else None)
    body = tree.source(first.line, first.end_line if unit.whole else _own_end(first)) if first else ""
    _summary(writer)
    return ImportedRunbook(
        title=words,
        key=fields.key,
        service=fields.service,
        alerts=fields.alerts,
        error_patterns=fields.error_patterns,
        severity=fields.severity,
        owner=fields.owner,
        steps=writer.steps,
        summary=fields.summary,
        body_markdown=body,
    )


class _Reader:
    def __init__(self, writer: StepWriter, shape: Shape, unit: Unit):
        self.writer = writer
        self.excluded = shape.excluded  # read-only: other units' sections
        self.mine = {id(s) for s in (unit.section, *unit.before, *unit.after, *unit.own_sections) if s is not None}
        self.title_line = ""

    def section(
        self, section: Section, heading: str | None, *, whole: bool = True, phase: str | None = None, own=False
    ) -> None:
        if heading is None and section.level > 0 and "<%" not in section.title:
            heading = clean_heading(section.title)
        phase = phase or phase_of(section.title) if section.level > 0 else phase
        cls = title_class(section.title) if section.level > 0 else TitleClass.TOPIC
        writer = self.writer
        if cls == TitleClass.NEUTRAL and not _example(section) and not own:
            return  # references, related links: not steps of the runbook they stand in
        writer.example_heading = cls == TitleClass.NEUTRAL
        if not section.blocks and not section.children:
            _heading_fact(section.title, writer.fields)
        if section.level and is_metadata_heading(section.title):
            _metadata(section, writer.fields)  # '### Alert' over Name / Severity / Threshold lines: facts
            return
        blocks = section.blocks
        if section.level == 0 and blocks and self.title_line:
            first = blocks[0]
            if isinstance(first, Paragraph) and plain(first.text).strip() == self.title_line:
                blocks = blocks[1:]  # a headingless document's first line is its title, not a step
        writer.begin_section()
        writer.blocks(blocks, heading, phase)
        writer.example_heading = False
        if not whole:
            return
        for child in section.children:
            if id(child) in self.excluded and id(child) not in self.mine:
                continue
            self.section(child, None, phase=phase_of(child.title) or phase)


def _example(section: Section) -> bool:
    """'Examples', 'Example alert payload': what is under it only illustrates."""
    return clean_heading(section.title).lower().startswith(("example", "sample"))


def _own_end(section: Section) -> int:
    return section.children[0].line if section.children else section.end_line


def _summary(writer: StepWriter) -> None:
    """The runbook's summary: its first paragraph of prose (a Meaning/Summary section's, where there is one)."""
    if writer.fields.summary:
        return
    for step in writer.steps:
        if step.text and not step.commands and not step.caution and len(step.text.split()) >= 3:
            writer.fields.note(step.text)
            return


def _metadata(section: Section, fields: Fields) -> None:
    lines = [line for b in section.blocks if isinstance(b, Paragraph) for line in b.text.split("\n")]
    lines += [item.text for b in section.blocks if isinstance(b, ListBlock) for item in b.items]
    for line in lines:
        label = split_label(line.strip())
        if label is not None:
            kind = metadata_kind(label.label, in_alert_section=True)
            if kind and kind != "ignore":
                fields.record(kind, label.rest)


def _heading_fact(title: str, fields: Fields) -> bool:
    """An empty heading that states a fact: 'Severity: High', 'Critical - revenue impact!'."""
    label = split_label(title)
    if label is not None:
        kind = metadata_kind(label.label)
        if kind and kind != "ignore":
            fields.record(kind, label.rest)
            return True
    named = severity_cell(title)
    if named is not None and fields.severity is None:
        fields.severity = named[0]
        return True
    return False

