"""The form that turns a pinned runbook command into a command run: parameters, target, acknowledgement."""

from __future__ import annotations

import hashlib
import secrets

from django import forms
from django.core import signing

from .models import ChecklistItem, CommandRun, ExecutionTarget, RunPlan
from .models.runs import secret_parameter_names

_PREVIEW_SALT = "incidents.run-preview"


class CommandRunForm(forms.Form):
    """One text field per placeholder that is not a secret; the values are checked and shell-quoted by
    render_script. Secret parameters get no field: the worker fills them in from its environment."""

    target = forms.ModelChoiceField(queryset=ExecutionTarget.objects.order_by("-is_default", "name"),
                                    empty_label=None, label="Run on")
    understood = forms.BooleanField(required=False, label="I understand this is destructive")
    previewed = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, item: ChecklistItem, index: int, **kwargs) -> None:
        from runbooks.commandtext import find_parameters

        super().__init__(*args, **kwargs)
        self.item, self.index = item, index
        self.command = item.commands[index]
        from runbooks.commandtext import environment_name

        names = list(self.command.get("parameters") or find_parameters(self.command["text"]))
        secret = set(secret_parameter_names(names))
        self.secrets: list[tuple[str, str]] = [(name, environment_name(name)) for name in names if name in secret]
        self.parameters: list[str] = [name for name in names if name not in secret]
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

    @classmethod
    def preview_token(cls, script: str) -> str:
        """A token for one showing of `script`: signed, so it cannot be made up, and unique, so the run it
        starts is stored with it and a second dispatch with it (a double click, a replay) starts nothing."""
        return signing.dumps({"d": cls.digest(script), "n": secrets.token_urlsafe(12)}, salt=_PREVIEW_SALT,
                             compress=False)

    @classmethod
    def previewed_script_digest(cls, token: str) -> str | None:
        """The digest of the script a token was made for, or None for a token this console did not make."""
        try:
            data = signing.loads(token or "", salt=_PREVIEW_SALT, max_age=24 * 3600)
        except signing.BadSignature:
            return None
        return data.get("d") if isinstance(data, dict) else None

    @staticmethod
    def field_name(parameter: str) -> str:
        return f"param_{parameter}"

    def parameter_fields(self):
        return [self[self.field_name(name)] for name in self.parameters]

    def values(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(self.field_name(name), "") for name in self.parameters}

    def clean(self):
        from incidents.execution import redact

        for name in self.parameters:
            value = self.cleaned_data.get(self.field_name(name))
            if value and redact(value) != value:
                self.add_error(self.field_name(name), (
                    "This looks like a secret (a token, password or key). Secrets are never typed here: the "
                    "worker takes them from its environment when the parameter is named like one (…_TOKEN, "
                    "…_PASSWORD, …_KEY) or listed under the target's secret parameters."))
        return self._clean_plan()

    def _clean_plan(self):
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
