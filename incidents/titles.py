"""Titles people will read on a wall screen: not blank to the eye, not reordered by bidirectional controls."""

from __future__ import annotations

import unicodedata

# Characters that render as nothing although they are not spaces (fillers, blank patterns).
_BLANK_LOOKING = frozenset("\u2800\u3164\uffa0\u115f\u1160\u17b4\u17b5\u180e\u2028\u2029")
# Embeddings, overrides and isolates reorder the text around them ("Trojan Source"); marks (LRM/RLM) are fine.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _invisible(char: str) -> bool:
    return char in _BLANK_LOOKING or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp",
                                                                     "Mn", "Me")


def title_problem(title: str) -> str | None:
    """Why `title` cannot be a title, in words for the person typing it, or None."""
    if any(char in BIDI_CONTROLS for char in title):
        return ("The title holds a bidirectional control character (U+202A–U+202E or U+2066–U+2069), which "
                "reorders how it reads; type it without one.")
    if title and all(_invisible(char) for char in title):
        return "The title is made only of invisible characters: give it words people can read."
    return None
