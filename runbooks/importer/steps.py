"""Blocks to steps, for every kind of runbook.

- A paragraph is a step; it owns the code blocks (and ERB helpers, and lines that are only a command)
  right under it: they are its commands, read by what they are (runbooks.importer.blocks). Its text drops
  a trailing colon and any command cut out of it.
- A list item is a step; each further paragraph of the item is a step of its own (owning the code under
  it); nested items are steps in document order. A list of links, URLs or short nouns under an
  instruction ('Create an instance with:', '... including:') is folded into that step's text.
- A heading followed directly by code gives a step with empty text, known by its heading.
- Cautions (admonitions, '> [!WARNING]', '**Note:**', 'NB:') are attached to the step they stand in;
  one that stands before any step is a step of its own, marked as a caution.
- A bold line or a label alone on its line ('**Mitigation**:', '**Solution:**') is a sub-heading;
  metadata lines (Severity, Service, Owner, Alert, Error) fill the runbook's fields.
- 'For example:' and output introductions make the blocks under them illustrations: a command that only
  repeats one already given (with its placeholders filled in) is not a command again.
"""

from __future__ import annotations

import re

from runbooks.importer import readings
from runbooks.importer.blocks import CodeReading, read_code
from runbooks.importer.commands import split_commands
from runbooks.importer.fields import MAX_STEP_TEXT, Fields
from runbooks.importer.inline import plain, split_label, whole_bold
from runbooks.importer.sections import Block, Code, ListBlock, ListItem, Paragraph, Quote, Table
from runbooks.importer.shortcodes import shortcode_command
from runbooks.importer.types import ImportedCommand, ImportedStep
from runbooks.importer.vocabulary import drop_numbering, drop_step_number, is_descriptive, metadata_kind, phase_of

_ASIDE = re.compile(
    r"^(?:note|nb|n\.b\.|warning|caution|tip|hint|danger|heads up|attention|remember|ps|p\.s\.)$", re.I
)
_ALERT_MARK = re.compile(r"^\[!([A-Za-z]+)\][ \t]*(.*)$")
_EXAMPLE_INTRO = re.compile(r"^(?:for example|for instance|example|examples|e\.g\.?|sample|such as)\s*:?$", re.I)
_ILLUSTRATES = re.compile(
    r"\b(?:for example|for instance|example|e\.g\.|output|will (?:be )?(?:logged|printed|shown)"
    r"|looks? (?:something )?like|like this|sample)\b",
    re.IGNORECASE,
)
_STEP_HEADER = re.compile(r"\b(?:step|action|command|what to do|task|check|how)\b", re.I)
_CHATTER = re.compile(r"^(?:great|awesome|nice|done|perfect|good|ok|okay|cool)\b[!. ]", re.I)


class StepWriter:
    """Collects the steps of one runbook, in document order."""

    def __init__(self, fields: Fields, base_phase: str = "other"):
        self.fields = fields
        self.base_phase = base_phase
        self.steps: list[ImportedStep] = []
        self.current: ImportedStep | None = None  # the step cautions and loose code attach to
        self.section_start = 0  # index of the first step of the section being read
        self.example_heading = False  # reading a section titled 'Examples': its blocks only illustrate

    def begin_section(self) -> None:
        """A new section: cautions in it belong to its steps, not to the section above."""
        self.section_start = len(self.steps)
        self.current = None

    def _in_section(self, step: ImportedStep | None) -> bool:
        return step is not None and any(s is step for s in self.steps[self.section_start :])

    # --- steps --------------------------------------------------------------------------------------------

    def add(
        self,
        text: str,
        *,
        heading: str | None,
        phase: str | None,
        commands: list[ImportedCommand] = (),
        checkbox: bool = False,
        caution: bool = False,
    ) -> ImportedStep | None:
        text = drop_step_number(readings.clean(text))
        if text.endswith(":") and not text.endswith("::"):
            text = text[:-1].rstrip()  # 'Fetch the details of the cluster:' introduces what follows
        if not text and not commands:
            return None
        step = ImportedStep(
            phase=phase or self.base_phase,
            heading=heading,
            text=text,
            checkbox=checkbox,
            commands=list(commands),
            caution=caution,
        )
        self.steps.append(step)
        self.current = step
        self.fields.errors_in(text)
        self.fields.alerts_in(text)
        return step

    def attach(self, commands: list[ImportedCommand], heading: str | None, phase: str | None) -> None:
        """Commands under no sentence of their own belong to the step above them, or make one."""
        if not commands:
            return
        step = self.current
        if not self._in_section(step) or step.caution or step.heading != heading:
            self.add("", heading=heading, phase=phase, commands=commands)
            return
        for command in commands:
            if all(c.text != command.text for c in step.commands):
                step.commands.append(command)

    def caution(self, text: str, title: str | None, heading: str | None, phase: str | None) -> None:
        words = readings.clean(text)
        if not words:
            return
        step = self.current
        if self._in_section(step) and not step.caution:
            if words not in step.cautions:
                step.cautions.append(words)
            return
        split = split_commands(text)
        self.add(split.text or words, heading=title or heading, phase=phase, commands=split.commands, caution=True)

    # --- blocks ---------------------------------------------------------------------------------------

    def blocks(self, blocks: list[Block], heading: str | None, phase: str | None) -> tuple[str | None, str | None]:
        """Read a section's (or a quote's) blocks; returns the heading and phase for what follows."""
        i = 0
        while i < len(blocks):
            block = blocks[i]
            i += 1
            if block.claimed:
                continue
            if isinstance(block, Paragraph):
                owned = readings.owned(blocks, i)
                nxt = blocks[i + len(owned)] if i + len(owned) < len(blocks) else None
                heading, phase, took = self.paragraph(block, owned, nxt, heading, phase)
                i += took
            elif isinstance(block, Code):
                # code under no sentence: the step above it in this section runs it (the list item just
                # read, for a block right after a list), or it is a step of its own under its heading
                self.attach(self.code(block, None, illustrative=self.example_heading), heading, phase)
            elif isinstance(block, ListBlock):
                for item in block.items:
                    heading, phase = self.item(item, heading, phase)
            elif isinstance(block, Quote):
                self.quote(block, heading, phase)
            elif isinstance(block, Table):
                self.table(block, heading, phase)
        return heading, phase

    def code(self, block: Code, intro: str | None, *, illustrative: bool = False) -> list[ImportedCommand]:
        """The commands of a code block; its errors go to the fields."""
        reading = read_code(block.text, block.language)
        return self.reading(reading, intro, illustrative=illustrative)

    def reading(self, reading: CodeReading, intro: str | None, *, illustrative: bool) -> list[ImportedCommand]:
        for error in reading.errors:
            self.fields.add_error(error)
        if reading.labels:
            self.fields.labels(reading.labels)
        illustrative = illustrative or bool(intro and _ILLUSTRATES.search(intro))
        if reading.kind == "config" and (illustrative or reading.commands[0].language == "dockerfile"):
            return []
        if not illustrative:
            return list(reading.commands)
        given = [c.text for s in self.steps for c in s.commands]
        return [c for c in reading.commands if not any(readings.repeats(c.text, g) for g in given)]

    # --- paragraphs -----------------------------------------------------------------------------------

    def paragraph(
        self, para: Paragraph, owned: list[Block], nxt: Block | None, heading: str | None, phase: str | None
    ) -> tuple[str | None, str | None, int]:
        """Read one paragraph (and the blocks it owns); returns heading, phase and how many blocks it took."""
        text = para.text.strip()
        if _EXAMPLE_INTRO.match(plain(text)):
            # 'For example:' over a block: the block illustrates the step above it
            commands = [c for block in owned for c in self._owned_commands(block, text, illustrative=True)]
            self.attach(commands, heading, phase)
            return heading, phase, len(owned)
        command = shortcode_command(text)
        if command is not None:
            self.attach([command], heading, phase)
            return heading, phase, 0
        chunks, heading, phase = self._chunks(text, heading, phase)
        took = len(owned)
        if not chunks and owned:
            illustrative = self.example_heading
            commands = [c for block in owned for c in self._owned_commands(block, "", illustrative=illustrative)]
            self.attach(commands, heading, phase)
            return heading, phase, took
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            if chunk.kind == "caution":
                self.caution(chunk.text, None, heading, phase)
                continue
            words = chunk.text
            if last and isinstance(nxt, ListBlock) and not owned:
                folded = readings.fold(words, nxt)
                if folded is not None:
                    split = split_commands(folded)
                    self.add(split.text, heading=heading, phase=phase, commands=split.commands)
                    return heading, phase, took + 1
                label = plain(words).rstrip(":").strip()
                if readings.introduces(words) and len(label.split()) <= 12:
                    # 'To disable enforcement:' heads the list under it, and only that list
                    sub = heading if _CHATTER.match(label) else label
                    sub_phase = phase_of(label) or phase
                    for item in nxt.items:
                        sub, sub_phase = self.item(item, sub, sub_phase)
                    return heading, phase, took + 1
            split = split_commands(words)
            commands = list(split.commands)
            if last:
                for block in owned:
                    commands.extend(self._owned_commands(block, words, illustrative=self.example_heading))
            if not split.text and not commands:
                continue
            if not split.text and self.current is not None and not owned and self.current.heading == heading:
                self.attach(commands, heading, phase)  # a line that is only a command: the step above runs it
                continue
            self.add(split.text.rstrip(":").strip() if commands else split.text, heading=heading, phase=phase,
                     commands=commands)
        return heading, phase, took

    def _owned_commands(self, block: Block, intro: str, *, illustrative: bool) -> list[ImportedCommand]:
        if isinstance(block, Code):
            return self.code(block, intro, illustrative=illustrative)
        if isinstance(block, Paragraph):
            command = shortcode_command(block.text)
            if command is not None:
                return [command]
            return split_commands(block.text).commands
        return []

    def _chunks(self, text: str, heading: str | None, phase: str | None):
        """Split a paragraph at its label lines, bold sub-headings and pseudo list items ('a. ...')."""
        chunks: list[_Chunk] = []
        pending: list[str] = []

        def flush() -> None:
            if pending:
                chunks.append(_Chunk("\n".join(pending)))
                pending.clear()

        lines = readings.definitions([raw.strip() for raw in text.split("\n")])
        for n, line in enumerate(lines):
            if not line:
                continue
            label = split_label(plain(line) if line.startswith("<") else line)
            bold = whole_bold(line)
            if label is not None and _ASIDE.match(label.label) and (label.bold or not (chunks or pending)):
                # 'Note: ...' / '**Warning:** ...' to the end of the paragraph: a caution
                flush()
                chunks.append(_Chunk(" ".join([label.rest, *lines[n + 1 :]]).strip(), "caution"))
                break
            if label is not None and label.rest and is_descriptive(label.label) and not (chunks or pending):
                flush()
                self.fields.note(label.rest, labelled=True)  # 'SUMMARY: the cluster is red', '**Summary:** ...'
                continue
            if label is not None and label.bold:
                kind = metadata_kind(label.label)
                if kind and kind != "ignore":
                    self.fields.record(kind, label.rest)
                if kind in ("severity", "service", "owner", "key", "ignore"):
                    flush()
                    continue
                if not label.rest:
                    flush()
                    heading, phase = label.label, phase_of(label.label) or phase
                    continue
                if phase_of(label.label) and not kind:
                    flush()
                    heading, phase = label.label, phase_of(label.label) or phase
                    pending.append(label.rest)
                    continue
            elif label is not None:
                kind = metadata_kind(label.label)
                if kind in ("severity", "service", "owner", "key"):
                    self.fields.record(kind, label.rest)
                    flush()
                    continue
                if kind in ("alert", "error"):
                    self.fields.record(kind, label.rest)
            if bold is not None and len(bold.split()) <= 8 and not bold.endswith((".", "!")):
                flush()
                heading = plain(bold).rstrip(":").strip()
                phase = phase_of(heading) or phase
                continue
            if readings.PSEUDO_ITEM.match(line) and (pending or chunks):
                flush()
                line = readings.PSEUDO_ITEM.sub("", line, count=1)
            elif re.match(r"^[a-z][.)][ \t]", line):
                line = readings.PSEUDO_ITEM.sub("", line, count=1)
            pending.append(line)
        flush()
        return chunks, heading, phase

    # --- list items -----------------------------------------------------------------------------------

    def item(self, item: ListItem, heading: str | None, phase: str | None) -> tuple[str | None, str | None]:
        """Read one list item (and its nested items); returns the heading and phase for the items after it."""
        blocks = [b for b in item.blocks if not b.claimed]
        first = blocks[0] if blocks and isinstance(blocks[0], Paragraph) and blocks[0] is item.blocks[0] else None
        rest = blocks[1:] if first else blocks
        text = first.text.strip() if first else ""
        text, trailing = readings.split_trailing_labels(text)
        next_heading, next_phase = heading, phase
        if trailing is not None:  # '- last step\n**Mitigation**:' - a label line swallowed by the item above it
            next_heading, next_phase = trailing, phase_of(trailing) or phase
        label = split_label(text) if text else None
        bold = whole_bold(text) if text else None
        heading_words = (
            bold if bold is not None else (label.label if label and label.bold and not label.rest else None)
        )
        if label is not None:
            kind = metadata_kind(label.label)
            if kind and kind != "ignore":
                self.fields.record(kind, label.rest)
            if kind in ("severity", "service", "owner", "key") and not rest:
                return next_heading, next_phase
        nested = [b for b in rest if isinstance(b, ListBlock)]
        codes = [b for b in rest if isinstance(b, Code)]
        if heading_words and nested and not codes and not item.checkbox:
            # '3. **Mitigation**:' over a nested list is a sub-heading, not a step
            sub = plain(heading_words).rstrip(":").strip()
            self.blocks(rest, sub, phase_of(sub) or phase)
            return next_heading, next_phase
        if heading_words and rest and isinstance(rest[0], Paragraph) and not item.checkbox:
            # '1. **Increase CPU:**' then the instruction paragraph: one step
            text = f"{text} {rest[0].text.strip()}"
            rest = rest[1:]
        if label is not None and label.bold and _ASIDE.match(label.label):
            self.caution(label.rest, None, heading, phase)
            self._item_rest(rest, heading, phase)
            return next_heading, next_phase
        pieces = readings.pseudo_items(text)
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            owned = readings.owned(rest, 0) if last else []
            split = split_commands(piece)
            commands = list(split.commands)
            for block in owned:
                commands.extend(self._owned_commands(block, piece, illustrative=self.example_heading))
            words = split.text.rstrip(":").strip() if commands else split.text
            if bold is not None and words == piece.strip():
                words = plain(bold)  # '- **Restart the indexer**': the words, not the emphasis
            if last and not owned and rest and isinstance(rest[0], ListBlock):
                folded = readings.fold(words, rest[0])
                if folded is not None:
                    words, rest = folded, rest[1:]
            own_phase = phase_of(words) if bold is not None else None
            self.add(words, heading=heading, phase=own_phase or phase, commands=commands,
                     checkbox=item.checkbox and n == 0)
            if last:
                rest = rest[len(owned):]
        if not text and not pieces:
            self.current = None
        self._item_rest(rest, heading, phase)
        return next_heading, next_phase

    def _item_rest(self, rest: list[Block], heading: str | None, phase: str | None) -> None:
        """An item's further blocks: paragraphs are steps of their own, nested lists their sub-steps."""
        i = 0
        while i < len(rest):
            block = rest[i]
            i += 1
            if isinstance(block, Paragraph):
                text = block.text.strip()
                if readings.LINK_ONLY.match(plain(text)) and self.current is not None and not _ILLUSTRATES.search(text):
                    continue  # a bare link under the item: something to look at, not a step
                owned = readings.owned(rest, i)
                nxt = rest[i + len(owned)] if i + len(owned) < len(rest) else None
                _, _, took = self.paragraph(block, owned, nxt, heading, phase)
                i += took
            elif isinstance(block, Code):
                self.attach(self.code(block, None, illustrative=self.example_heading), heading, phase)
            elif isinstance(block, ListBlock):
                for item in block.items:
                    if readings.LINK_ONLY.match(plain(item.text)) and not item.checkbox and len(item.blocks) <= 1:
                        self._fold_into_current(item.text)
                        continue
                    self.item(item, heading, phase)
            elif isinstance(block, Quote):
                self.quote(block, heading, phase)
            elif isinstance(block, Table):
                self.table(block, heading, phase)

    def _fold_into_current(self, text: str) -> None:
        if self.current is None:
            return
        label = readings.label_text(text)
        if label and label not in self.current.text and len(self.current.text) < MAX_STEP_TEXT:
            joiner = " " if self.current.text.endswith(":") else ": " if ":" not in self.current.text[-40:] else ", "
            self.current.text = f"{self.current.text}{joiner}{label}".strip(": ")

    # --- quotes, tables, definition lists ----------------------------------------------------------------

    def quote(self, quote: Quote, heading: str | None, phase: str | None) -> None:
        """An admonition or note is a caution; a <details> block or a quote is read when it instructs."""
        blocks = [b for b in quote.blocks if not b.claimed]
        if not blocks:
            return
        first = blocks[0]
        mark = _ALERT_MARK.match(first.text.strip().split("\n", 1)[0]) if isinstance(first, Paragraph) else None
        if mark is not None:
            kind, title = mark.group(1).upper(), mark.group(2).strip()
            lines = first.text.strip().split("\n")[1:]
            body = [Paragraph(text="\n".join(lines), line=first.line, quoted=True)] if lines else []
            body += blocks[1:]
            body = [b for b in body if not (isinstance(b, Paragraph) and not b.text.strip())]
            if kind == "DETAILS":
                summary = title or (plain(whole_bold(lines[0]) or "") if lines and whole_bold(lines[0]) else "")
                if summary and lines and whole_bold(lines[0]):
                    rest_text = "\n".join(lines[1:])
                    body = [Paragraph(text=rest_text, line=first.line, quoted=True)] if rest_text.strip() else []
                    body += blocks[1:]
                if readings.instructs(body):
                    self.blocks(body, summary or heading, phase_of(summary) or phase)
                return
            self._caution_blocks(body, title or None, heading, phase, standalone=bool(title))
            return
        if isinstance(first, Paragraph):
            text = first.text.strip()
            label = split_label(text.split("\n", 1)[0])
            if (label is not None and _ASIDE.match(label.label)) or text.startswith(("**", "__")):
                self._caution_blocks(blocks, None, heading, phase)
                return
        if readings.instructs(blocks):
            self.blocks(blocks, heading, phase)

    def _caution_blocks(
        self, blocks: list[Block], title: str | None, heading: str | None, phase: str | None, *, standalone=False
    ) -> None:
        """A titled admonition ('!!! warning "Incident Commander Required"') stands on its own; an untitled
        note belongs to the step above it."""
        texts: list[str] = []
        commands: list[ImportedCommand] = []
        for block in blocks:
            if isinstance(block, Paragraph):
                words = block.text.strip()
                label = split_label(words.split("\n", 1)[0])
                if label is not None and _ASIDE.match(label.label):
                    words = (label.rest + words[len(words.split("\n", 1)[0]) :]).strip()
                texts.append(words)
            elif isinstance(block, ListBlock):
                texts.extend(item.text for item in block.items if item.text)
            elif isinstance(block, Code):
                commands.extend(self.code(block, None))
        text = "\n".join(t for t in texts if t)
        if not text and not commands:
            return
        step = self.current
        if self._in_section(step) and not step.caution and not commands and not standalone:
            words = readings.clean(text)
            if words and words not in step.cautions:
                step.cautions.append(words)
            return
        split = split_commands(text)
        self.add(split.text, heading=title or heading, phase=phase, commands=split.commands + commands, caution=True)

    def table(self, table: Table, heading: str | None, phase: str | None) -> None:
        """A table of steps (a Step/Action/Command column, or code in it) gives one step per row; a Key/Value
        table gives the runbook's fields; any other table is reference data."""
        if len(table.header) == 2 and table.rows and all(metadata_kind(plain(r[0])) for r in table.rows if r):
            for row in table.rows:
                if len(row) >= 2:
                    kind = metadata_kind(plain(row[0]))
                    if kind and kind != "ignore":
                        self.fields.record(kind, row[1])
            return
        stepwise = any(_STEP_HEADER.search(plain(h)) for h in table.header) or any(
            row and row[0].strip().rstrip(".").isdigit() for row in table.rows
        )
        if not stepwise and not any(split_commands(c).commands for row in table.rows for c in row):
            return
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
            if commands or words:
                self.add(drop_numbering(text) if text else "", heading=heading, phase=phase, commands=commands)


class _Chunk:
    __slots__ = ("text", "kind")

    def __init__(self, text: str, kind: str = "text"):
        self.text = text
        self.kind = kind
