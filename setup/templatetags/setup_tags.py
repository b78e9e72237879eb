"""`{% setup_empty_state %}`: the dashboard's first-run card, shown while nothing at all is configured.

The dashboard includes it only when it has no incidents to show (a console with incidents is set up enough), so
a busy dashboard pays nothing for it; otherwise it costs one query while anything is configured. The dashboard
page is cached for at most a minute (incidents/pagecache.py), so the card can outlive the first import by that.
"""

from __future__ import annotations

from django import template

from setup.state import nothing_configured
from setup.views import is_setup_admin

register = template.Library()


@register.inclusion_tag("setup/_empty_state.html", takes_context=True)
def setup_empty_state(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not nothing_configured():
        return {"show": False}
    return {"show": True, "is_admin": is_setup_admin(user)}
