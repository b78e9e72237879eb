"""Display helpers for postmortems, milestones, action items and metrics."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..postmortem import say_seconds

register = template.Library()


def _at(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


@register.filter
def when(value, fmt: str = "%H:%M:%S, %d %b %Y") -> str:
    """An ISO string (as kept in a draft's JSON) or a datetime, in the console's time zone."""
    at = _at(value)
    return timezone.localtime(at).strftime(fmt) if at else "—"


@register.filter
def local_input(value) -> str:
    """The value of a datetime-local input."""
    at = _at(value)
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M") if at else ""


@register.filter
def secs(value) -> str:
    """Seconds as `duration` says them: "45 s", "12 min", "3 h 05 min"."""
    if isinstance(value, float):
        value = round(value)
    return say_seconds(value if isinstance(value, int) and not isinstance(value, bool) else None)


@register.simple_tag
def time_zone_name() -> str:
    return timezone.localtime(timezone.now()).tzname() or ""


@register.simple_tag
def closing_needs(incident) -> list[str]:
    """What closing the incident still needs; only asked of a resolved incident (the one that can close)."""
    if incident.status != "resolved":
        return []
    return incident.closing_needs()


@register.filter
def get_item(mapping, key):
    """mapping[key], or the key itself when it is not there."""
    return mapping.get(key, key) if hasattr(mapping, "get") else key


@register.simple_tag
def key_timeline_rows(entries: list[dict], can_write: bool, entries_url: str) -> SafeString:
    """The key timeline's rows, written here rather than in a template loop: an incident of 5,000 events has
    over a thousand key entries, and the template engine spent most of the page's time on them. Every value is
    escaped; the markup is the one the page's CSS and htmx expect."""
    if not entries:
        return mark_safe('<li class="muted">Nothing recorded that belongs here.</li>')  # noqa: S308
    url = escape(entries_url)
    out = []
    for n, e in enumerate(entries, 1):
        key = escape(e["key"])
        if can_write:
            check = (f'<input type="checkbox" name="keep" value="{key}" id="keep-{n}"'
                     f'{" checked" if e["included"] else ""} hx-post="{url}" '
                     f"hx-vals='{{\"entry\": \"{key}\"}}' hx-trigger=\"change\" hx-target=\"#timeline-status\" "
                     f'hx-swap="innerHTML"><label for="keep-{n}" class="visually-hidden">'
                     "Keep in the postmortem</label>")
        else:
            check = '<span></span>' if e["included"] else '<span class="muted small">left out</span>'
        who = f" <strong>{escape(e['who'])}</strong>" if e.get("who") else ""
        text = escape(e.get("text", "")).replace("\n", "<br>")
        script = f"<pre><code>{escape(e['script'])}</code></pre>" if e.get("script") else ""
        excerpt = (f'<details><summary class="small">Output (last lines)</summary><pre class="output small">'
                   f"{escape(e['excerpt'])}</pre></details>") if e.get("excerpt") else ""
        out.append(f'<li class="event-{escape(e["kind"])}">{check}'
                   f'<time class="clock" datetime="{escape(e["at"] or "")}">{escape(e["hms"])}</time>'
                   '<div class="pm-entry"><span class="badge event-kind">'
                   f'{escape(e["kind_label"])}</span>{who} <span class="event-message">{text}</span>{script}{excerpt}'
                   "</div></li>")
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped
