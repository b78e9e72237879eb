"""Runbooks delimited by headings: '## 🚨 Disk full' with '### Detection', '### Mitigation'... under it,
a '### Issue: X' with Symptoms / Diagnostic Steps / Resolution Steps, an '## Alert: Name' with Meaning /
Impact / Diagnosis / Mitigation, a checklist under its own heading, or a section of small step sections.

Which heading is the runbook is decided from the shape of the tree, bottom up: a section whose sub-headings
name phases (Detection, Mitigation...) is a runbook; a section holding runbooks is a group; a leaf section
with steps in a group is a runbook of its own. Nothing here depends on heading levels or on any one
document's wording.
"""

from __future__ import annotations

import enum

from runbooks.importer.commands import block_command, split_commands
from runbooks.importer.inline import plain, split_label
from runbooks.importer.recognisers.base import Found
from runbooks.importer.recognisers.titles import read_title
from runbooks.importer.sections import Code, ListBlock, Paragraph, Section, Table, Tree
from runbooks.importer.steps import Fields, StepWriter
from runbooks.importer.types import ImportedRunbook
from runbooks.importer.vocabulary import (
    clean_heading,
    drop_numbering,
    is_descriptive,
    is_metadata_heading,
    is_phase_heading,
    metadata_kind,
    phase_of,
    severity_cell,
)


class Kind(enum.Enum):
    EMPTY = "empty"  # nothing under the heading
    INFO = "info"  # what it held was taken by a block recogniser (severity matrix, contacts...)
    PROSE = "prose"  # words only
    REF = "reference"  # links, or "Label: value" lists: reference material, not instructions
    SIMPLE = "simple"  # a few words and code: one step
    LEAF = "leaf"  # steps (lists, checkboxes, inline commands), no sub-headings
    STEPS = "steps"  # sub-headings that are each one step ("Is it slow for one user?" + code)
    PHASED = "phased"  # sub-headings that are phases: the section is one runbook
    GROUP = "group"  # sub-headings that are runbooks (or groups of them)


RUNBOOK = (Kind.LEAF, Kind.STEPS, Kind.PHASED)
CONTENT = (Kind.PROSE, Kind.REF, Kind.SIMPLE, Kind.LEAF, Kind.STEPS)


class HeadingRunbooks:
    def __init__(self) -> None:
        self.kinds: dict[int, Kind] = {}

    def recognise(self, tree: Tree, found: Found) -> None:
        self.kinds = {}
        self.tree = tree
        root = tree.root
        root_kind = self.kind(root)
        if root_kind in RUNBOOK:
            self.add(root, root_kind, found)
        elif root_kind == Kind.SIMPLE and _has_prose(root):
            self.add(root, Kind.STEPS, found)
        else:
            self.collect(root, found)

    # --- classification ---------------------------------------------------------------------------------

    def kind(self, section: Section) -> Kind:
        # iterative post-order: documents with thousands of nested headings must not hit the recursion limit
        stack = [(section, False)]
        while stack:
            current, ready = stack.pop()
            if id(current) in self.kinds:
                continue
            if ready or not current.children:
                self.kinds[id(current)] = self._classify(current)
            else:
                stack.append((current, True))
                stack.extend((child, False) for child in current.children if id(child) not in self.kinds)
        return self.kinds[id(section)]

    def _classify(self, section: Section) -> Kind:
        own = _blocks_kind(section)
        prefixed = section.level > 0 and read_title(section.title).prefixed
        if not section.children:
            if prefixed and own in (Kind.SIMPLE, Kind.REF, Kind.PROSE):
                return Kind.LEAF
            return own
        kids = [self.kinds[id(child)] for child in section.children]
        if prefixed and (own != Kind.EMPTY or any(k in CONTENT for k in kids)):
            return Kind.PHASED
        if any(k in (Kind.PHASED, Kind.GROUP) for k in kids):
            return Kind.GROUP
        contentful = [c for c, k in zip(section.children, kids, strict=True) if k in CONTENT]
        if not contentful:
            if own in (Kind.LEAF, Kind.SIMPLE, Kind.REF, Kind.PROSE):
                return own
            return Kind.INFO if Kind.INFO in kids or own == Kind.INFO else Kind.EMPTY
        phases = [
            c
            for c, k in zip(section.children, kids, strict=True)
            if k != Kind.INFO and is_phase_heading(c.title)
        ]
        n_phase, n_content = len(phases), len(contentful)
        if Kind.INFO in kids and n_phase < 2:
            # beside a severity matrix or contacts: document-level material, not the phases of one runbook
            return Kind.GROUP
        # a level-1 heading is a document's or a runbook's title ('# Alerts for billing'), never one phase
        phase_titled = section.level > 1 and is_phase_heading(section.title)
        if phase_titled and all(
            self.kinds[id(c)] in (Kind.SIMPLE, Kind.PROSE, Kind.STEPS) for c in contentful
        ):
            return Kind.STEPS  # 'Investigation' over 'Step 1: Check the metrics' + code: one step each
        has_steps = any(self.kinds[id(c)] in (Kind.SIMPLE, Kind.LEAF, Kind.STEPS) for c in contentful)
        if n_phase and 2 * n_phase >= n_content and (has_steps or n_phase >= 2):
            return Kind.PHASED
        if all(self.kinds[id(c)] == Kind.SIMPLE for c in contentful):
            return Kind.STEPS
        if phase_titled:
            return Kind.STEPS
        return Kind.GROUP

    def collect(self, section: Section, found: Found) -> None:
        for child in section.children:
            kind = self.kinds[id(child)]
            if kind == Kind.GROUP:
                self.collect(child, found)
            elif kind in RUNBOOK:
                self.add(child, kind, found)
            elif kind == Kind.SIMPLE:
                if _has_prose(child):
                    self.add(child, Kind.LEAF, found)
                else:
                    found.warn(
                        f"'{clean_heading(child.title)}' (line {child.line}) was not imported as a runbook: "
                        "it lists commands but names no problem they solve"
                    )

    # --- extraction ------------------------------------------------------------------------------------

    def add(self, section: Section, kind: Kind, found: Found) -> None:
        found.add_runbook(section.line, self.build(section, kind, found))

    def build(self, section: Section, kind: Kind, found: Found) -> ImportedRunbook:
        raw_title = section.title if section.level > 0 else ""
        title = read_title(raw_title) if raw_title else None
        fields = Fields(key=title.key if title else None)
        for alert in title.alerts if title else []:
            fields.add_alert(alert)
        words = title.text if title else ""
        writer = StepWriter(fields, base_phase=phase_of(words) or "other")
        writer.blocks(section.blocks, None, None, mode="top")
        for child in section.children:
            if kind == Kind.STEPS:
                self.step_section(child, writer, None, None)
            else:
                self.phase_section(child, writer)
        return ImportedRunbook(
            title=words,
            key=fields.key,
            service=fields.service,
            alerts=fields.alerts,
            error_patterns=fields.error_patterns,
            severity=fields.severity,
            steps=writer.steps,
            summary=fields.summary,
            body_markdown=self.tree.source(section.line, section.end_line),
        )

    def phase_section(self, section: Section, writer: StepWriter) -> None:
        heading = clean_heading(section.title)
        if is_metadata_heading(section.title):
            for part in section.walk():
                writer.blocks(part.blocks, heading, None, mode="metadata")
            return
        if is_descriptive(section.title) or (
            self.kinds.get(id(section)) == Kind.REF and not is_phase_heading(section.title)
        ):
            # 'Critical data: RTO < 5 min' lists facts about the incident, not things to do
            for part in section.walk():
                writer.blocks(part.blocks, heading, None, mode="describe")
            return
        if not section.blocks and not section.children:
            _heading_fact(section.title, writer.fields)
            return
        phase = phase_of(section.title)
        writer.blocks(section.blocks, heading, phase, mode="steps")
        for child in section.children:
            self.step_section(child, writer, heading, phase)

    def step_section(
        self, section: Section, writer: StepWriter, heading: str | None, phase: str | None
    ) -> None:
        """A heading under a phase: one step when it holds a few words and code, a sub-heading otherwise."""
        kind = self.kinds.get(id(section), Kind.EMPTY)
        words = drop_numbering(clean_heading(section.title))
        if kind in (Kind.SIMPLE, Kind.PROSE, Kind.EMPTY) and not section.children:
            texts: list[str] = []
            commands = []
            for block in section.blocks:
                if block.claimed:
                    continue
                if isinstance(block, Code):
                    command = block_command(block.text, block.language)
                    if command:
                        commands.append(command)
                elif isinstance(block, Paragraph):
                    split = split_commands(block.text)
                    commands.extend(split.commands)
                    if split.text:
                        texts.append(split.text.rstrip(":").strip())
            if kind == Kind.EMPTY and _heading_fact(section.title, writer.fields):
                return
            text = ": ".join(t for t in [words, " ".join(texts)] if t)
            writer.add(text, heading=heading, phase=phase, commands=commands)
            return
        sub = clean_heading(section.title)
        sub_phase = phase_of(section.title) or phase
        writer.blocks(
            section.blocks, sub, sub_phase, mode="describe" if is_descriptive(section.title) else "steps"
        )
        for child in section.children:
            self.step_section(child, writer, sub, sub_phase)


def _blocks_kind(section: Section) -> Kind:
    blocks = [b for b in section.blocks if not b.claimed]
    claimed = len(blocks) < len(section.blocks)
    if not blocks:
        return Kind.INFO if claimed else Kind.EMPTY
    has_code = any(isinstance(b, Code) for b in blocks)
    lists = [b for b in blocks if isinstance(b, ListBlock)]
    if any(_is_step_list(b) for b in lists):
        # '**Symptoms**: ...', '**Mitigation**:' over the steps: phases written as labels, so a runbook
        return Kind.PHASED if len(_phase_labels(blocks)) >= 2 else Kind.LEAF
    paragraphs = [b for b in blocks if isinstance(b, Paragraph)]
    if any(split_commands(line).commands for p in paragraphs for line in p.text.split("\n")[:50]):
        return Kind.LEAF if not has_code or lists else Kind.SIMPLE
    if has_code:
        return Kind.SIMPLE
    if claimed:
        return Kind.INFO
    if lists or any(isinstance(b, Table) for b in blocks):
        return Kind.REF
    return Kind.PROSE


def _phase_labels(blocks: list) -> set[str]:
    phases: set[str] = set()
    for block in blocks:
        lines: list[str] = []
        if isinstance(block, Paragraph):
            lines = block.text.split("\n")[:50]
        elif isinstance(block, ListBlock):
            lines = [item.text for item in block.items if any(isinstance(b, ListBlock) for b in item.blocks)]
        for line in lines:
            label = split_label(line, plain_labels=False)
            if label is not None and label.bold and phase_of(label.label):
                phases.add(phase_of(label.label))
    return phases


def _is_step_list(block: ListBlock) -> bool:
    items = block.items
    if not items:
        return False
    if all(_is_link(item.text) for item in items):
        return False  # a table of contents, or related documents
    if any(item.checkbox for item in items):
        return True
    if any(isinstance(b, Code) for item in items for b in item.blocks):
        return True
    if any(split_commands(item.text).commands for item in items):
        return True
    # '**Dashboards**: Grafana' on every item is reference, not instructions
    return any(split_label(item.text) is None for item in items)


def _is_link(text: str) -> bool:
    words = text.strip()
    return words.startswith("[") and words.endswith(")") and "](" in words and words.count("](") == 1


def _has_prose(section: Section) -> bool:
    return any(isinstance(b, Paragraph) and not b.claimed and plain(b.text) for b in section.blocks)


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
