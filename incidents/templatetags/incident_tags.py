"""Small display helpers for the incident pages."""

from __future__ import annotations

import re
from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from runbooks import languages

register = template.Library()


@register.filter
def runnable(language: str | None) -> bool:
    """Whether the console can run a command in this language (runbooks.languages decides)."""
    return languages.is_runnable(language)


@register.filter
def not_runnable_reason(language: str | None) -> str:
    return languages.not_runnable_reason(language)


@register.filter
def duration(value: timedelta | None) -> str:
    """A timedelta as a person says it: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 0:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@register.filter
def over(value: timedelta | None, limit: timedelta | None) -> bool:
    return value is not None and limit is not None and value > limit


def _param_tokens(parameters) -> list[str]:
    tokens = []
    for p in parameters or []:
        name = p.get("token") or p.get("name") if isinstance(p, dict) else p
        if isinstance(name, str) and name:
            tokens += [name, f"<{name}>", f"{{{{{name}}}}}", f"${{{name}}}"]
    return sorted(set(tokens), key=len, reverse=True)


@register.filter
def command_html(command: dict) -> str:
    """The command text, escaped, with its parameters marked so a person sees what to fill in."""
    text = command.get("text", "") if isinstance(command, dict) else str(command)
    tokens = [t for t in _param_tokens(command.get("parameters") if isinstance(command, dict) else None) if t in text]
    if not tokens:
        tokens = sorted(set(re.findall(r"<[A-Za-z_][\w-]*>", text)), key=len, reverse=True)
    if not tokens:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in tokens))
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(f'<span class="param">{escape(m.group(0))}</span>')
        last = m.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece is escaped above


@register.filter
def person(user) -> str:
    """A user's full name, else their username; empty for nobody."""
    if user is None or not getattr(user, "pk", None):
        return ""
    return user.get_full_name() or user.get_username()


# Plain strftime for the rows a page repeats hundreds of times (timeline events, dashboard rows):
# the `date` filter's formatter costs several times more and the timeline renders 200 of them.
@register.filter
def iso(value) -> str:
    return value.isoformat() if value else ""


@register.filter
def hms(value) -> str:
    return timezone.localtime(value).strftime("%H:%M:%S") if value else ""


@register.filter
def hm(value) -> str:
    return timezone.localtime(value).strftime("%H:%M") if value else ""


@register.filter
def age(value) -> str:
    """How long ago, in the words `duration` uses (console.js keeps it current)."""
    return duration(timezone.now() - value) if value else ""
