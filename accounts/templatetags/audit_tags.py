"""{{ entry|logged_values }}: what an admin log entry says each field was before and after (accounts/audit.py)."""

from __future__ import annotations

import json

from django import template

from accounts.audit import logged_values as _logged_values

register = template.Library()


@register.filter
def logged_values(entry) -> list[dict]:
    return _logged_values(entry)


@register.filter
def shown(value) -> str:
    """A logged value as a person reads it."""
    if value is None:
        return "—"
    if isinstance(value, dict) and set(value) == {"id", "text"}:
        return f"{value['text']} (#{value['id']})"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
