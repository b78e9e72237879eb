"""Views for dispatching, approving, streaming and cancelling command runs (being written)."""

from __future__ import annotations

from django.http import Http404


def run_new(request, pk, item_pk, index):
    raise Http404("Command dispatch is not available yet.")
