"""Small readings of a paragraph's or a list's text, for the step writer (steps.py): which blocks a
paragraph owns, whether a list folds into the step above it, pseudo list items Markdown did not see,
a command repeated as an example, a step's text cleaned of markup that is not words."""

from __future__ import annotations

import re
from itertools import islice

from runbooks.importer.blocks import read_code
from runbooks.importer.commands import split_commands
from runbooks.importer.fields import MAX_STEP_TEXT
from runbooks.importer.inline import collapse, plain, safe_text, split_label, whole_bold
from runbooks.importer.sections import Block, Code, ListBlock, Paragraph
from runbooks.importer.shortcodes import shortcode_command
from runbooks.importer.wording import is_instruction

PSEUDO_ITEM = re.compile(r"^(?:[a-z]|[ivx]{1,4}|\d{1,2})[.)][ \t]+(?=\S)|^[-*•][ \t]+(?=\S)")
LINK_ONLY = re.compile(r"^\s*(?:!?\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])?|<?https?://\S+>?|`[^`]+`)\s*[.,;]?\s*$")
_LINK_LABEL = re.compile(r"!?\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])?")
_FOLD_ENDINGS = ("including:", "such as:", "with:", "following:", "include:", "includes:", "like:", "e.g.:")


_ATTRIBUTES = re.compile(r"\{:[^{}\n]{0,200}\}")


def definitions(lines: list[str]) -> list[str]:
    """A definition list ('Owner' over ': payments-team') read as 'Owner: payments-team' label lines."""
    if not any(line.startswith(": ") for line in lines[1:]):
        return lines
    out: list[str] = []
    for line in lines:
        if line.startswith(": ") and out and out[-1] and ":" not in out[-1]:
            out[-1] = f"{out[-1]}: {line[2:].strip()}"
        else:
            out.append(line)
    return out


def clean(text: str) -> str:
    if "{:" in text:
        text = _ATTRIBUTES.sub("", text)  # kramdown attribute lists: '[link](x){:target="_blank"}'
    text = safe_text(collapse(strip_empty_tags(text))[: MAX_STEP_TEXT * 2])
    if len(text) > MAX_STEP_TEXT:
        text = text[:MAX_STEP_TEXT].rstrip() + " …"
    return text


_EMPTY_TAG_PAIR = re.compile(r"<([a-z][a-z0-9-]{0,20})\s*>\s*</\1\s*>", re.IGNORECASE)


def strip_empty_tags(text: str) -> str:
    """'incident.<unlink></unlink>io' (a trick against auto-linking) reads 'incident.io'."""
    return _EMPTY_TAG_PAIR.sub("", text) if "</" in text else text


def owned(blocks: list[Block], start: int) -> list[Block]:
    """The code blocks (and command-only lines, ERB helpers) right after position `start`."""
    owned: list[Block] = []
    for block in islice(blocks, start, None):
        if block.claimed:
            break
        if isinstance(block, Code) or isinstance(block, Paragraph) and command_only(block.text):
            owned.append(block)
        else:
            break
    return owned


def command_only(text: str) -> bool:
    text = text.strip()
    if "\n" in text or not text:
        return False
    if shortcode_command(text) is not None:
        return True
    split = split_commands(text)
    return bool(split.commands) and not split.text


def introduces(text: str) -> bool:
    """'To disable enforcement:' or 'Backup and replace the token' right over a list: a sub-heading."""
    words = plain(text).strip()
    if words.endswith(":"):
        return True
    return len(words.split()) <= 12 and not words.endswith((".", "!", "?", ")"))


def fold(parent: str, block: ListBlock) -> str | None:
    """The parent text with the list's items folded in, when they are links, URLs or short nouns."""
    items = block.items
    if not items or any(item.checkbox or len(item.blocks) > 1 for item in items):
        return None
    texts = [item.text.strip() for item in items]
    if not all(texts):
        return None
    refs = all(LINK_ONLY.match(t) for t in texts)
    lowered = plain(parent).strip().lower()
    nouns = (
        (is_instruction(parent) or lowered.endswith(_FOLD_ENDINGS))
        and all(len(plain(t).split()) <= 12 and not is_instruction(t) and ". " not in plain(t) for t in texts)
        and not any(split_commands(t).commands for t in texts)
    )
    if not (refs or nouns):
        return None
    labels = [label_text(t) for t in texts]
    joiner = "; " if any("," in label for label in labels) else ", "
    head = parent.rstrip()
    return f"{head}{'' if head.endswith(':') else ':'} {joiner.join(labels)}"


def label_text(text: str) -> str:
    """A link's label (code marks kept), or the text itself."""
    words = _LINK_LABEL.sub(lambda m: m.group(1), text.strip()).strip().strip(".,;")
    return words.strip("<>")


def pseudo_items(text: str) -> list[str]:
    """'Following the steps.\\na. First, patch\\nb. then...' -> three texts; other texts are one."""
    if not text:
        return []
    lines = text.split("\n")
    if len(lines) == 1 or not any(PSEUDO_ITEM.match(line.strip()) for line in lines[1:]):
        return [text]
    out: list[list[str]] = [[]]
    for line in lines:
        stripped = line.strip()
        if PSEUDO_ITEM.match(stripped) and out[-1]:
            out.append([PSEUDO_ITEM.sub("", stripped, count=1)])
        else:
            out[-1].append(stripped)
    return ["\n".join(part) for part in out if part]


def split_trailing_labels(text: str) -> tuple[str, str | None]:
    """'Check logs\\n**Mitigation**:' -> ('Check logs', 'Mitigation'): a label line after an item's text
    belongs to the items below it (Markdown joins it to the item as a lazy continuation line)."""
    if "\n" not in text:
        return text, None
    lines = text.split("\n")
    for n in range(1, len(lines)):
        line = lines[n].strip()
        label = split_label(line, plain_labels=False)
        bold = whole_bold(line)
        if (label is not None and label.bold and not label.rest) or (
            bold and not bold.endswith((".", "!", "?")) and len(bold.split()) <= 8
        ):
            words = label.label if label is not None else plain(bold).rstrip(":").strip()
            return "\n".join(lines[:n]), words
    return text, None


def instructs(blocks: list[Block]) -> bool:
    """Does a quote or <details> block hold something to do (an instruction or a command)?"""
    for block in blocks:
        if isinstance(block, Code) and read_code(block.text, block.language).commands:
            return True
        if isinstance(block, Paragraph) and (is_instruction(block.text) or split_commands(block.text).commands):
            return True
        if isinstance(block, ListBlock) and any(
            is_instruction(item.text) or item.checkbox or split_commands(item.text).commands
            or any(isinstance(b, Code) for b in item.blocks)
            for item in block.items
        ):
            return True
    return False


_PLACEHOLDER = re.compile(r"<[^<>\n]{1,80}>|\{[^{}\n]{1,80}\}|\[[^\[\]\n]{1,80}\]|\bX{3,}\b")


def repeats(command: str, given: str) -> bool:
    """Is `command` the `given` one again, its placeholders filled in ('USE <db>;' -> 'USE shop;')?"""
    if command == given:
        return True
    if not _PLACEHOLDER.search(given) or len(given) > 2000:
        return False
    parts = _PLACEHOLDER.split(given)
    pattern = ".+?".join(re.escape(p) for p in parts)
    return re.fullmatch(pattern, command, re.DOTALL) is not None

