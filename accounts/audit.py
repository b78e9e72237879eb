"""Every admin change kept in the admin log with what each field was before and after.

Django's admin log (LogEntry) records that someone changed "Allowed programs" on a target, not from what to
what. `AuditedAdminMixin` adds the values, in the JSON change message the log already keeps, for the object
and for its inline rows (added: after; changed: before and after; deleted: before), and for deletions from
the admin (the whole object as it was). Its history page shows them.

Use it first among the bases: ``class ExecutionTargetAdmin(AuditedAdminMixin, admin.ModelAdmin)``. Applied
to runbooks, steps and execution targets here; escalation policies and integrations add it the same way.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid

from django.contrib.admin.models import DELETION, LogEntry
from django.db import models

MAX_VALUE_CHARACTERS = 5_000


def plain(value):
    """A value as the log can keep it (JSON), shortened when long."""
    if isinstance(value, models.Model):
        return {"id": value.pk, "text": str(value)[:200]}
    if isinstance(value, models.QuerySet | list | tuple | set) and not isinstance(value, str | bytes):
        items = list(value)
        if all(isinstance(i, str | int | float | bool | type(None)) for i in items) and not isinstance(
                value, models.QuerySet):
            return items if len(json.dumps(items, default=str)) <= MAX_VALUE_CHARACTERS else str(items)[
                :MAX_VALUE_CHARACTERS] + "…"
        return [plain(i) for i in items][:200]
    if isinstance(value, dict):
        text = json.dumps(value, default=str)
        return value if len(text) <= MAX_VALUE_CHARACTERS else text[:MAX_VALUE_CHARACTERS] + "…"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_CHARACTERS else value[:MAX_VALUE_CHARACTERS] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:MAX_VALUE_CHARACTERS]


def _after(form, name: str):
    return form.cleaned_data.get(name) if name in getattr(form, "cleaned_data", {}) else None


def _before(form, name: str):
    value = form.initial.get(name)
    field = form.fields.get(name)
    # A relation's initial value is its id: show what the id was, as the after value shows what it is.
    queryset = getattr(field, "queryset", None)
    if queryset is not None and value not in (None, "", []):
        ids = value if isinstance(value, list | tuple) else [value]
        found = {o.pk: o for o in queryset.model._default_manager.filter(pk__in=[getattr(i, "pk", i) for i in ids])}
        objects = [found.get(getattr(i, "pk", i), i) for i in ids]
        return objects if isinstance(value, list | tuple) else objects[0]
    return value


def changes(form, fields) -> dict:
    return {name: {"before": plain(_before(form, name)), "after": plain(_after(form, name))} for name in fields}


def snapshot(obj) -> dict:
    """Every concrete field of `obj`, as the log can keep them."""
    values = {}
    for field in obj._meta.concrete_fields:
        value = getattr(obj, field.name) if field.is_relation else getattr(obj, field.attname)
        values[field.name] = plain(value)
    return values


class AuditedAdminMixin:
    """Admin log entries that say what each changed field was before and after (see the module doc)."""

    object_history_template = "admin/audited_object_history.html"

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        for part in message:
            if "added" in part and not part["added"]:
                part["added"]["values"] = {name: {"after": value} for name, value in snapshot(form.instance).items()}
            elif "changed" in part and "name" not in part["changed"]:
                part["changed"]["values"] = changes(form, form.changed_data)
        for formset in formsets or []:
            forms = {id(f.instance): f for f in formset.forms}
            for part in message:
                self._describe_row(part, formset, forms)
        return message

    @staticmethod
    def _describe_row(part: dict, formset, forms: dict) -> None:
        for kind, objects in (("added", formset.new_objects), ("deleted", formset.deleted_objects)):
            entry = part.get(kind)
            if not entry or "name" not in entry or "values" in entry:
                continue
            for obj in objects:
                if str(obj) == entry["object"] and obj._meta.verbose_name == entry["name"]:
                    key = "after" if kind == "added" else "before"
                    entry["values"] = {name: {key: value} for name, value in snapshot(obj).items()}
                    break
        entry = part.get("changed")
        if entry and "name" in entry and "values" not in entry:
            for obj, fields in formset.changed_objects:
                if str(obj) == entry["object"] and obj._meta.verbose_name == entry["name"]:
                    form = forms.get(id(obj))
                    if form is not None:
                        entry["values"] = changes(form, fields)
                    break

    def log_deletions(self, request, queryset):
        """One entry per deleted object, holding the whole object as it was."""
        entries = []
        for obj in queryset:
            message = [{"deleted": {"name": str(obj._meta.verbose_name), "object": str(obj),
                                    "values": {name: {"before": value} for name, value in snapshot(obj).items()}}}]
            entries.append(LogEntry.objects.log_actions(user_id=request.user.pk, queryset=[obj],
                                                        action_flag=DELETION, change_message=message,
                                                        single_object=True))
        return entries


def logged_values(entry: LogEntry) -> list[dict]:
    """What an admin log entry says changed, field by field: [{"what", "field", "before", "after"}]."""
    try:
        message = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    rows = []
    for part in message if isinstance(message, list) else []:
        for kind, detail in part.items():
            if not isinstance(detail, dict):
                continue
            what = f"{detail['name']} “{detail['object']}”" if "name" in detail else "this object"
            for field, values in (detail.get("values") or {}).items():
                if kind == "changed" or values.get("before") != values.get("after"):
                    rows.append({"what": f"{kind} {what}", "field": field, "before": values.get("before"),
                                 "after": values.get("after")})
    return rows
