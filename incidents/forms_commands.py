"""The form that turns a pinned runbook command into a command run: parameters, target, acknowledgement."""

from __future__ import annotations

import hashlib

from django import forms

from .models import ChecklistItem, CommandRun, ExecutionTarget, RunPlan


class CommandRunForm(forms.Form):
    """One text field per placeholder; the values are checked and shell-quoted by render_script."""

    target = forms.ModelChoiceField(queryset=ExecutionTarget.objects.order_by("-is_default", "name"),
                                    empty_label=None, label="Run on")
    understood = forms.BooleanField(required=False, label="I understand this is destructive")
    previewed = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, item: ChecklistItem, index: int, **kwargs) -> None:
        from runbooks.commandtext import find_parameters

        super().__init__(*args, **kwargs)
        self.item, self.index = item, index
        self.command = item.commands[index]
        self.parameters: list[str] = list(self.command.get("parameters") or find_parameters(self.command["text"]))
        for name in self.parameters:
            self.fields[self.field_name(name)] = forms.CharField(
                label=name, max_length=500, strip=False,
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            )
        default = self.fields["target"].queryset.first()
        if default is not None:
            self.fields["target"].initial = default.pk
        self.plan: RunPlan | None = None

    @staticmethod
    def digest(script: str) -> str:
        """Names the exact script a person was shown, so a changed value is shown again before it runs."""
        return hashlib.sha256(script.encode()).hexdigest()[:32]

    @staticmethod
    def field_name(parameter: str) -> str:
        return f"param_{parameter}"

    def parameter_fields(self):
        return [self[self.field_name(name)] for name in self.parameters]

    def values(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(self.field_name(name), "") for name in self.parameters}

    def clean(self):
        from runbooks.commandtext import ParameterError

        cleaned = super().clean()
        if any(self.field_name(name) in self.errors for name in self.parameters):
            return cleaned
        try:
            self.plan = CommandRun.plan(self.item, self.index, self.values())
        except ParameterError as exc:
            name = getattr(exc, "name", None) or getattr(exc, "parameter", None)
            field = self.field_name(name) if name in self.parameters else None
            self.add_error(field, str(exc))
        return cleaned
