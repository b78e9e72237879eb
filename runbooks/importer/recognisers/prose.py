"""The prose of a document, sentence by sentence, for the recognisers that read who to reach and how
escalation goes: paragraphs and list items (in lists, quotes and admonitions too), each with the section it
stands in and, for a sentence that ends in a colon, the list items it introduces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from runbooks.importer.sections import Block, ListBlock, Paragraph, Quote, Section, Tree

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'“(*_`\[])")


@dataclass
class Passage:
    text: str  # inline Markdown of one paragraph or list item
    section: Section
    items: list[str] = field(default_factory=list)  # the items of the list it introduces
    in_list: bool = False

    def sentences(self) -> list[str]:
        return [s.strip() for s in _SENTENCE_END.split(" ".join(self.text.split())) if s.strip()]


def passages(tree: Tree) -> list[Passage]:
    """Every paragraph and list item of the tree, read once per document and shared by the recognisers."""
    cached = getattr(tree, "_passages", None)
    if cached is None:
        cached = [p for section in tree.root.walk() for p in _blocks(section.blocks, section, in_list=False)]
        tree._passages = cached
    return cached


def _blocks(blocks: list[Block], section: Section, *, in_list: bool) -> Iterator[Passage]:
    for n, block in enumerate(blocks):
        if isinstance(block, Paragraph):
            nxt = blocks[n + 1] if n + 1 < len(blocks) else None
            items = [item.text for item in nxt.items] if isinstance(nxt, ListBlock) else []
            yield Passage(block.text, section, items, in_list)
        elif isinstance(block, ListBlock):
            for item in block.items:
                yield from _blocks(item.blocks, section, in_list=True)
        elif isinstance(block, Quote):
            yield from _blocks(block.blocks, section, in_list=in_list)
