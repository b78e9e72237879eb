"""The one exception of command checking: what will not run, and why, in words for the person who asked."""

from __future__ import annotations


class CommandRefused(Exception):
    """The command will not be run; the message says why, for the person who asked for it."""
