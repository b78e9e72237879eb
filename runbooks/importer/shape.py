"""The document's shape, decided first and from the whole section tree, with the reasons in words.

    procedure  one runbook: the sections under the title are its phases (Meaning / Impact / Diagnosis /
               Mitigation, Before you start / Procedure / Rollback, numbered steps...)
    catalogue  each section at some level is a runbook of its own (alerts, issues, how-tos); general
               instructions outside them (the introduction, a 'Troubleshooting' section over the entries)
               make one more runbook named after the document; Prerequisites / Verification sections
               next to a procedure are its phases
    policy     severity levels, escalation, contacts, schedules: only the sections that instruct are
               runbooks (a checklist, an escalation procedure)
    mix        runbooks and policy material together

A section is *entry-like* when its heading is not a phase and it holds something of its own: an alert it
describes, instructions (commands, checkboxes, mostly imperative sentences) or phase sub-sections. A
section is a *catalogue* when two or more of its sub-sections are entry-like and they are not outnumbered
by phase sub-sections, or when one of its sub-sections is a catalogue. `split` ('document', 'h2', 'h3')
overrides the decision: the admin's or the command line's reading of the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runbooks.importer.blocks import read_code
from runbooks.importer.commands import split_commands
from runbooks.importer.inline import plain
from runbooks.importer.sections import Block, Code, ListBlock, Paragraph, Quote, Section, Table, Tree
from runbooks.importer.shortcodes import shortcode_command
from runbooks.importer.vocabulary import clean_heading
from runbooks.importer.wording import (
    PHASE_LIKE,
    TitleClass,
    descriptive_title,
    is_instruction,
    named_checklist,
    procedural_title,
    title_class,
)

SPLITS = ("auto", "document", "h2", "h3")
_BEFORE = re.compile(r"prerequisite|pre-?requisite|preparation|before you|requirements|pre-?flight|pre-?checks", re.I)
_AFTER = re.compile(r"verif|validat|roll ?back|back ?out|post|clean ?up|confirm|checks?\b|after", re.I)
_NEVER_CATALOGUE = re.compile(
    r"^(?:procedure|process|the process|steps|execution|instructions|checklist|runbook|playbook|how to\b.*"
    r"|what to do.*|.*\bprocedure)$",
    re.IGNORECASE,
)
_ALERT_TEXT = re.compile(
    r"^\W*(?:\[?this alert\]?|the \[?`?[\w.*-]+`?\]?(?:\[[^\]]*\])? alert|\[?[\w.*-]+\]? alert)\b", re.I
)
_SHOWN = 4


@dataclass
class Unit:
    """Where one runbook's text is: a section (with or without what is under it), plus sections read with it."""

    title: str
    section: Section | None
    whole: bool = True  # read the section's sub-sections too (except those that are units of their own)
    before: list[Section] = field(default_factory=list)  # read before it ('Prerequisites')
    after: list[Section] = field(default_factory=list)  # read after it ('Verification After Restoration')
    own_sections: list[Section] = field(default_factory=list)  # read for their own blocks only
    general: bool = False  # the document's general runbook: its introduction and general instructions

    @property
    def line(self) -> int:
        if self.section is not None:
            return min([self.section.line, *(s.line for s in self.before)])
        lines = [s.line for s in self.own_sections]
        return min(lines) if lines else 1


@dataclass
class Shape:
    kind: str
    why: list[str]
    units: list[Unit]
    excluded: set[int] = field(default_factory=set)  # ids of sections that are units (or read) elsewhere
    warnings: list[str] = field(default_factory=list)


class _Facts:
    """What each section holds, computed once per section."""

    def __init__(self) -> None:
        self.cache: dict[int, dict] = {}

    def of(self, section: Section) -> dict:
        key = id(section)
        if key not in self.cache:
            self.cache[key] = self._facts(section)
        return self.cache[key]

    def _facts(self, section: Section) -> dict:
        cls = title_class(section.title) if section.level > 0 else TitleClass.TOPIC
        units, instructions, commands, checkboxes = _count(section.blocks)
        content = units > 0 or commands > 0
        procedural = section.level > 0 and procedural_title(section.title)
        instructional = (
            commands > 0
            or checkboxes > 0
            or (instructions >= 2 and instructions * 2 >= units)
            or (procedural and instructions >= 1)
        )
        alert = content and (
            cls == TitleClass.ENTRY or _describes_alert(section.blocks) or _problem_and_fix(section.blocks)
        )
        kids = [(child, self.of(child)) for child in section.children]
        phase_kids = [c for c, f in kids if f["class"] in PHASE_LIKE]
        entry_kids = [c for c, f in kids if f["entry"]]
        substantive = [
            c for c, f in kids if f["class"] not in (TitleClass.NEUTRAL, TitleClass.GUIDELINE, TitleClass.POLICY)
        ]
        # a section written as phases ('Detection', 'Mitigation'...) or as steps is one procedure
        phased = bool(phase_kids) and len(phase_kids) * 2 >= len(substantive) and len(phase_kids) >= len(entry_kids)
        checklist = section.level > 0 and named_checklist(section.title) and (instructional or phased)
        entry_like = checklist or (
            cls not in PHASE_LIKE
            and cls not in (TitleClass.NEUTRAL, TitleClass.GUIDELINE, TitleClass.POLICY)
            and (alert or instructional or (phased and cls != TitleClass.POLICY_PROCESS))
        )
        never = section.level > 0 and _NEVER_CATALOGUE.match(clean_heading(section.title) or "") is not None
        # phases that are things to do, not explanations: two of them make the section one procedure,
        # whatever cases its phases list ('Common causes' with one fix each)
        core = [c for c in phase_kids if not descriptive_title(c.title)]
        catalogue = not never and (
            (len(entry_kids) >= 2 and len(entry_kids) >= len(phase_kids))
            or (any(f["catalogue"] for _, f in kids) and not (len(core) >= 2 and not entry_kids))
        )
        return {
            "class": cls,
            "instructional": instructional,
            "entry": entry_like,
            "catalogue": catalogue,
            "content": content,
            "entries_below": bool(entry_kids) or any(f["entries_below"] for _, f in kids),
            "phase_kids": phase_kids,
            "phased": phased,
        }


def _count(blocks: list[Block]) -> tuple[int, int, int, int]:
    """(units, instructions, commands, checkboxes) of a section's own blocks."""
    units = instructions = commands = checkboxes = 0
    for n, block in enumerate(blocks):
        if block.claimed:
            continue
        if isinstance(block, Paragraph):
            text = block.text.strip()
            nxt = blocks[n + 1] if n + 1 < len(blocks) else None
            if text.endswith(":") and isinstance(nxt, ListBlock | Code):
                if is_instruction(text.rstrip(":")):
                    instructions += 1
                    units += 1
                continue  # an introduction: its list or block is what counts
            if shortcode_command(text) is not None or split_commands(text).commands:
                commands += 1
            units += 1
            instructions += is_instruction(text)
        elif isinstance(block, Code):
            reading = read_code(block.text, block.language)
            if reading.commands and not (reading.kind == "config" and reading.commands[0].language == "dockerfile"):
                commands += 1
        elif isinstance(block, ListBlock):
            for item in block.items:
                u, i, c, b = _count(item.blocks)
                units += max(1, u)
                instructions += i
                commands += c
                checkboxes += b + item.checkbox
        elif isinstance(block, Quote):
            first = block.blocks[0] if block.blocks else None
            if isinstance(first, Paragraph) and first.text.startswith("[!"):
                continue  # an admonition: a caution, not what the section is about
            u, i, c, b = _count(block.blocks)
            if i or c:
                units, instructions, commands, checkboxes = units + u, instructions + i, commands + c, checkboxes + b
        elif isinstance(block, Table) and any(split_commands(cell).commands for row in block.rows for cell in row):
            commands += 1
    return units, instructions, commands, checkboxes


def _describes_alert(blocks: list[Block]) -> bool:
    first = next((b for b in blocks if isinstance(b, Paragraph) and not b.claimed), None)
    return first is not None and bool(_ALERT_TEXT.match(first.text.strip()))


_PROBLEM_LABEL = re.compile(r"^\W{0,4}(?:issue|problem|symptoms?|error(?: message)?|cause)\W{0,4}:", re.I)
_FIX_LABEL = re.compile(r"^\W{0,4}(?:solution|fix|resolution|workaround|remedy|mitigation)\W{0,4}:", re.I)


def _problem_and_fix(blocks: list[Block]) -> bool:
    """'**Issue:** ... **Solution:** ...': a known issue with its fix."""
    lines = [line for b in blocks if isinstance(b, Paragraph) for line in b.text.split("\n")]
    return any(_PROBLEM_LABEL.match(x) for x in lines) and any(_FIX_LABEL.match(x) for x in lines)


def top_section(tree: Tree) -> Section:
    """The section holding the document: the root, or its one level-1 heading when nothing stands beside it."""
    root = tree.root
    own = [b for b in root.blocks if not b.claimed and _substantive(b)]
    h1 = [c for c in root.children if c.level == 1]
    if len(h1) == 1 and len(root.children) == 1 and not own:
        return h1[0]
    return root


def _substantive(block: Block) -> bool:
    if isinstance(block, Paragraph):
        return bool(plain(block.text).strip())
    return not isinstance(block, Quote)


def decide(tree: Tree, doc_title: str, split: str = "auto", *, policy: bool = False) -> Shape:
    """The document's shape and its runbooks (see the module docstring)."""
    facts = _Facts()
    top = top_section(tree)
    top_title = _title_of(top, doc_title)
    if split == "document":
        return Shape("procedure", [f"read as one runbook, as asked ('{top_title}')"], [Unit(top_title, top)])
    if split in ("h2", "h3"):
        return _split_at(tree, top, top_title, int(split[1]), facts)
    info = facts.of(top)
    if info["catalogue"]:
        return _catalogue(top, top_title, facts, policy=policy)
    kids = [(c, facts.of(c)) for c in top.children]
    aside = (TitleClass.NEUTRAL, TitleClass.GUIDELINE, TitleClass.POLICY)
    substantive = [(c, f) for c, f in kids if f["class"] not in aside]
    phases = [c for c, f in substantive if f["class"] in PHASE_LIKE]
    if not top.children:
        units, instructions, commands, checkboxes = _count(top.blocks)
        if not (commands or checkboxes or instructions or tree.front_matter_alert):
            return Shape("procedure", ["no sub-sections and nothing to do: prose only"], [])
    if not top.children or (phases and len(phases) * 2 >= len(substantive)) or (
        facts.of(top)["class"] == TitleClass.ENTRY and top.level > 0
    ):
        why = [_procedure_reason(top, top_title, phases, kids)]
        if policy:
            why.append("it also holds policy material (severity levels, contacts or escalation)")
        return Shape("mix" if policy else "procedure", why, [Unit(top_title, top)])
    shape = _catalogue(top, top_title, facts, policy=policy, instructed=True)
    return shape


def _title_of(section: Section, doc_title: str) -> str:
    if section.level == 0 or "<%" in section.title or not plain(section.title).strip():
        return doc_title
    return section.title


def _procedure_reason(top: Section, title: str, phases: list[Section], kids) -> str:
    if not top.children:
        return f"one procedure: '{plain(title)}' has no sub-sections"
    names = ", ".join(f"'{clean_heading(p.title)}'" for p in phases[:_SHOWN])
    more = f" and {len(phases) - _SHOWN} more" if len(phases) > _SHOWN else ""
    return f"one procedure: the sections under '{plain(title)}' are its phases or steps ({names}{more})"


def _catalogue(top: Section, top_title: str, facts: _Facts, *, policy: bool, instructed: bool = False) -> Shape:
    """Walk the tree: entries are runbooks, groups are walked, phases attach to the procedure beside them."""
    units: list[Unit] = []
    general = Unit(plain(top_title), None, whole=False, general=True)
    general.own_sections.append(top)
    skipped: list[str] = []
    excluded: set[int] = set()
    warnings: list[str] = []

    def walk(section: Section) -> None:
        pending_before: list[Section] = []
        last: Unit | None = None
        for child in section.children:
            f = facts.of(child)
            cls = f["class"]
            title = clean_heading(child.title)
            if cls in (TitleClass.NEUTRAL, TitleClass.GUIDELINE, TitleClass.POLICY):
                if f["content"] or child.children:
                    skipped.append(f"'{title}' ({_reason(cls)})")
                if _count(child.blocks)[2] and cls == TitleClass.NEUTRAL:
                    warnings.append(
                        f"'{title}' (line {child.line}) was not imported as a runbook: it lists commands but "
                        "names no problem they solve"
                    )
                continue
            if f["entry"] and f["phased"]:
                unit = Unit(child.title, child)  # a runbook written as phases: everything under it is its own
                unit.before.extend(pending_before)
                pending_before = []
                units.append(unit)
                last = unit
                continue
            if (f["catalogue"] or (f["entries_below"] and not f["entry"])) and child.children:
                if f["instructional"]:
                    if cls in PHASE_LIKE:
                        general.own_sections.append(child)
                    else:
                        unit = Unit(child.title, child, whole=False)
                        units.append(unit)
                        last = unit
                walk(child)
                continue
            if f["entry"] or (instructed and f["instructional"]):
                unit = Unit(child.title, child)
                unit.before.extend(pending_before)
                pending_before = []
                units.append(unit)
                last = unit
                _split_entries(child, unit, facts, units)
                continue
            if cls in PHASE_LIKE and f["phased"] and len(f["phase_kids"]) >= 2:
                units.append(Unit(child.title, child))  # 'Performance troubleshooting' over its questions
                last = units[-1]
                continue
            if cls in PHASE_LIKE and not instructed:
                if _BEFORE.search(title):
                    pending_before.append(child)
                elif last is not None and last.section is not None and _AFTER.search(title):
                    last.after.append(child)
                elif f["instructional"]:
                    general.own_sections.append(child)
                continue
            if f["content"]:
                skipped.append(f"'{title}' (no instructions of its own)")
        for orphan in pending_before:
            if facts.of(orphan)["instructional"]:
                general.own_sections.append(orphan)

    walk(top)
    if _general_instructs(general, facts):
        units.insert(0, general)
    for unit in units:
        for sec in (*unit.before, *unit.after):
            excluded.add(id(sec))
        if unit.section is not None:
            excluded.add(id(unit.section))
    kind = ("policy" if policy else "catalogue") if instructed else ("mix" if policy else "catalogue")
    names = [plain(clean_heading(u.title)) for u in units if not u.general][:_SHOWN]
    more = len([u for u in units if not u.general]) - len(names)
    listed = ", ".join(f"'{n}'" for n in names) + (f" and {more} more" if more > 0 else "")
    if instructed:
        why = [f"not one procedure: the sections under '{plain(top_title)}' are not its phases"]
        if units:
            why.append(f"{len(units)} section(s) give instructions and are runbooks: {listed or 'the introduction'}")
    else:
        why = [f"a catalogue: {len(names) + max(more, 0)} sections hold a runbook each: {listed}"]
    if any(u.general for u in units):
        why.append(f"the general instructions outside them make one runbook, '{plain(top_title)}'")
    attached = [f"'{clean_heading(s.title)}'" for u in units for s in (*u.before, *u.after)]
    if attached:
        why.append(f"read as phases of the procedure beside them: {', '.join(attached[:_SHOWN])}")
    if policy:
        why.append("it holds policy material (severity levels, contacts or escalation)")
    if skipped:
        more_skipped = f" and {len(skipped) - _SHOWN} more" if len(skipped) > _SHOWN else ""
        why.append(f"not runbooks: {', '.join(skipped[:_SHOWN])}{more_skipped}")
    return Shape(kind, why, units, excluded, warnings)


def _split_entries(section: Section, unit: Unit, facts: _Facts, units: list[Unit]) -> None:
    """Inside an entry without phase sub-sections, a sub-section that is an entry itself is a runbook too."""
    if facts.of(section)["phased"]:
        return
    for child in section.children:
        if facts.of(child)["entry"]:
            units.append(Unit(child.title, child))
            _split_entries(child, units[-1], facts, units)


def _general_instructs(general: Unit, facts: _Facts) -> bool:
    for section in general.own_sections:
        if section.level == 0 or general.own_sections.index(section) == 0:
            units, instructions, commands, checkboxes = _count(section.blocks)
            if commands or checkboxes or instructions >= 1:
                return True
        elif facts.of(section)["instructional"]:
            return True
    return False


def _reason(cls: TitleClass) -> str:
    return {
        TitleClass.NEUTRAL: "reference or examples",
        TitleClass.GUIDELINE: "a guideline",
        TitleClass.POLICY: "policy: schedules, channels, levels",
    }.get(cls, "no instructions")


def _split_at(tree: Tree, top: Section, top_title: str, level: int, facts: _Facts) -> Shape:
    units = [Unit(s.title, s) for s in tree.root.walk() if s.level == level]
    general = Unit(plain(top_title), None, whole=False, general=True)
    general.own_sections.append(top)
    for section in tree.root.walk():
        if 0 < section.level < level and section is not top:
            general.own_sections.append(section)
    if not units:
        return Shape(
            "procedure",
            [f"read with each level-{level} heading as a runbook, as asked; there is none, so it is one runbook"],
            [Unit(top_title, top)],
        )
    if _general_instructs(general, facts):
        units.insert(0, general)
    why = [f"read with each level-{level} heading as a runbook, as asked ({len(units)} runbooks)"]
    return Shape("catalogue", why, units, {id(u.section) for u in units if u.section is not None})
