"""Lists and small mappings stored as JSON, edited in the admin as lines of text instead of raw JSON.

An admin lists its fields by name (``lines_fields``, ``pairs_fields``) with ``LinesAdminMixin``; inlines take the
same attributes. One item a line; blank lines are dropped; "NAME = value" lines for a mapping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError


def _pasted_json(value: Any, kind: type):
    """What was there before, pasted back as JSON (["a", "b"] or {"A": "b"}), read as such; else None."""
    text = str(value or "").strip()
    if not text.startswith("[" if kind is list else "{"):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, kind) else None


class LinesField(forms.Field):
    """A JSON list of strings (or of what `cast` makes of each line), one item a line."""

    widget = forms.Textarea

    def __init__(self, *, cast: Callable[[str], Any] = str, pattern: str = "", what: str = "an item",
                 **kwargs) -> None:
        self.cast, self.pattern, self.what = cast, re.compile(pattern) if pattern else None, what
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 60, "class": "lines-field"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):  # the text typed, shown again with its error
            return value
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return "" if value is None else str(value)

    def to_python(self, value: Any) -> list:
        if isinstance(value, list):
            return value
        if (pasted := _pasted_json(value, list)) is not None:
            value = "\n".join(str(item) for item in pasted)
        items = []
        for number, raw in enumerate(str(value or "").splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            if self.pattern and not self.pattern.fullmatch(line):
                raise ValidationError(f"Line {number}: “{line}” is not {self.what}.")
            try:
                items.append(self.cast(line))
            except (TypeError, ValueError) as error:
                raise ValidationError(f"Line {number}: “{line}” is not {self.what}.") from error
        return items

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


class PairsField(LinesField):
    """A JSON object of strings, one "NAME = value" a line."""

    def __init__(self, *, key_pattern: str = "", what: str = "a name", **kwargs) -> None:
        self.key_pattern = re.compile(key_pattern) if key_pattern else None
        super().__init__(what=what, **kwargs)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, dict):
            return "\n".join(f"{key} = {item}" for key, item in value.items())
        return super().prepare_value(value)

    def to_python(self, value: Any) -> dict:
        if isinstance(value, dict):
            return value
        if (pasted := _pasted_json(value, dict)) is not None:
            value = "\n".join(f"{key} = {item}" for key, item in pasted.items())
        pairs: dict[str, str] = {}
        for number, raw in enumerate(str(value or "").splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            key, sep, item = (part.strip() for part in line.partition("="))
            if not sep or not key:
                raise ValidationError(f"Line {number}: write “NAME = value” (found “{line}”).")
            if self.key_pattern and not self.key_pattern.fullmatch(key):
                raise ValidationError(f"Line {number}: “{key}” is not {self.what}.")
            if key in pairs:
                raise ValidationError(f"Line {number}: “{key}” is given twice.")
            pairs[key] = item
        return pairs

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


class LinesAdminMixin:
    """Edit the named JSON fields as lines: ``lines_fields = {"alerts": {}}`` (LinesField options per field,
    e.g. ``{"cast": int, "what": "a number of days"}``, and a ``help_text`` to replace the model's, which often
    shows JSON) and ``pairs_fields`` likewise for mappings."""

    lines_fields: dict[str, dict] = {}
    pairs_fields: dict[str, dict] = {}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        for names, field_class, hint in ((self.lines_fields, LinesField, "One a line."),
                                         (self.pairs_fields, PairsField, "One “NAME = value” a line.")):
            if db_field.name in names:
                options = dict(names[db_field.name])
                help_text = options.pop("help_text", db_field.help_text)
                return field_class(required=not db_field.blank, label=db_field.verbose_name.capitalize(),
                                   help_text=f"{help_text} {hint}".strip(), **options)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class LabelledTabularInline(admin.TabularInline):
    """A tabular inline whose inputs have accessible names: the stock one labels its columns in the table head
    only, which screen readers (and axe-core) do not tie to each row's inputs."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class Labelled(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)  # adds the Delete box and the hidden keys
                for name, field in form.fields.items():
                    field.widget.attrs.setdefault("aria-label", str(field.label or name).capitalize())

        Labelled.__name__ = formset.__name__
        return Labelled
