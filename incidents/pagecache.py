"""The page cache: whole pages, rendered once and served again while what they show is unchanged.

The dashboard and an incident page are read far more often than they change (every open tab reloads, every wall
screen refreshes), and rendering them is most of their cost. A rendered page is kept under a key made of:

- the version of what it shows: the incident's revision, or the dashboard's fingerprint, which every change to an
  incident moves: a change never serves an old page, it makes a new key;
- who is looking: the person (their name is in the header; their own command runs show Cancel rather than
  Approve) and their permissions, which decide the buttons;
- the query that shapes the page (a timeline filter, an earlier page of events);
- the current minute: ages and response clocks are written to the minute (console.js keeps them ticking).

A part of a page that changes on its own is kept apart as a `Piece` with its own version: the incident page's
command-runs panel moves with every line a command prints (`Incident.runs_revision`) while the rest of the page
stays as it was. The page is kept cut at the slot where the piece goes, beside the latest rendering of the piece
and the version it was rendered for; an answer joins them, and re-renders the piece alone when its version
moved: a streaming command re-renders the panel, not the page around it.

The incident page's live fragments (what its poll sends after a change) name nobody: they are kept per
permissions, not per person (`shared=True`), so the ten people watching one incident share one render of
each change.

Not covered are names and definitions edited elsewhere (a runbook's title, a severity's response time, a new
person in the role lists): they show with the incident's next change, or within the minute. A request with a
message to show (after a form) is rendered afresh and not kept.

Forms are rendered with a placeholder for the CSRF token, replaced in each response by the reader's own token.
The store is the `pages` cache: memory of each process, bounded (PAGE_CACHE_ENTRIES), so reading a page costs no
round trip, and no process can serve another's stale copy because keys carry versions. PAGE_CACHE_SECONDS=0
renders every page every time. `stats` counts hits and misses per page and piece in this process.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.crypto import salted_hmac

# (page or piece name, "hit" | "miss") -> how often, in this process.
stats: Counter = Counter()


@dataclass(frozen=True)
class Piece:
    """A part of a page kept under its own version; the page template prints `name` where it goes, if given."""

    name: str
    template: str
    version: Any
    context: Callable[[], dict[str, Any]]


@functools.cache
def _placeholder(purpose: str) -> str:
    # Derived from SECRET_KEY: not something a note's text could hold by chance or by design (a note that did would
    # show the reader's own token, or a panel, to that reader only).
    return f"{purpose}-" + salted_hmac("incidents.pagecache", f"{purpose}-placeholder").hexdigest()[:32]


def csrf_placeholder() -> str:
    return _placeholder("csrf")


def page_key(request, name: str, version, shaped_by=(), *, shared: bool = False) -> str:
    user = request.user
    reader = (user.is_staff, user.is_superuser, sorted(user.get_all_permissions()))
    if not shared:
        reader = (user.pk, user.get_username(), *reader)
    minute = int(time.time() // 60)
    digest = hashlib.blake2s(repr((version, reader, tuple(shaped_by), minute)).encode(), digest_size=16)
    return f"page:{name}:{digest.hexdigest()}"


def render_page(request, template: str, name: str, version, context: Callable[[], dict[str, Any]], *,
                shaped_by=(), pieces: Iterable[Piece] = (), shared: bool = False, status: int = 200) -> HttpResponse:
    """`template` rendered with `context()`, or the copy kept for this version, reader and query; `shared`
    for what shows nothing of the person reading, only what their permissions allow.

    The page prints each piece's slot (its name) once, in the order given; the kept entry holds the page cut at
    the slots and the latest rendering of each piece with its version, so an answer is one cache read and a join.
    """
    pieces = list(pieces)
    if settings.PAGE_CACHE_SECONDS <= 0 or len(get_messages(request)):
        return render(request, template, context(), status=status)
    csrf = csrf_placeholder()
    store = caches["pages"]
    key = page_key(request, name, version, shaped_by, shared=shared)
    entry = store.get(key)
    changed = entry is None
    if entry is None:
        stats[name, "miss"] += 1
        slots = {piece.name: _placeholder(f"piece-{piece.name}") for piece in pieces}
        rest = render_to_string(template, {**context(), **slots, "csrf_token": csrf}, request)
        parts = []
        for piece in pieces:
            before, found, rest = rest.partition(slots[piece.name])
            if not found:
                raise ValueError(f"{template} does not print the slot of its piece {piece.name!r}")
            parts.append(before)
        entry = (parts + [rest], {})
    else:
        stats[name, "hit"] += 1
    parts, kept = entry
    out = [parts[0]]
    for piece, after in zip(pieces, parts[1:], strict=True):
        held = kept.get(piece.name)
        if held is not None and held[0] == piece.version:
            stats[f"{name}:{piece.name}", "hit"] += 1
        else:
            stats[f"{name}:{piece.name}", "miss"] += 1
            held = kept[piece.name] = (piece.version, render_to_string(
                piece.template, {**piece.context(), "csrf_token": csrf}, request))
            changed = True
        out += [held[1], after]
    if changed:
        store.set(key, entry, settings.PAGE_CACHE_SECONDS)
    return HttpResponse("".join(out).replace(csrf, get_token(request)), status=status)
