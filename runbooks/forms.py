from __future__ import annotations

from django import forms

from runbooks.matching import MAX_TEXT


class MatchForm(forms.Form):
    """The "which runbook?" box: an alert name, a pasted error message or a log line."""

    q = forms.CharField(
        label="Alert name, error message or log line",
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "CheckoutLatencyHigh\n— or paste the error —",
                                     "spellcheck": "false"}),
    )
    service = forms.CharField(label="Service (optional)", required=False, max_length=200)
