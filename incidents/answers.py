"""How a view answers a change: make it, say what happened, then a fragment for htmx or a redirect otherwise.

Every form on the incident pages (views.py and command_views.py) posts through `answer_change`, so a view is its
decorators, the model call and where to go back to. A refusal, by the model (IncidentError) or by the form
(`refused=`), becomes an error message in either answer: the fragment shows it in place, the redirected page at
its top (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect

from .models import IncidentError


def answer_change(request, change: Callable[[], object] | None, *, fragment: Callable[[], HttpResponse],
                  back: str, refused: str = "", success: str | Callable[[], str] = "") -> HttpResponse:
    """Make `change()` unless `refused` says why not; then `fragment()` for htmx, else a redirect to `back`.

    `success` is the message after a change that went through (a callable is asked after the change, when the
    message depends on what it did).
    """
    if refused:
        messages.error(request, refused)
    elif change is not None:
        try:
            change()
        except IncidentError as exc:
            messages.error(request, str(exc))
        else:
            text = success() if callable(success) else success
            if text:
                messages.success(request, text)
    return fragment() if request.htmx else redirect(back)
