"""The incident page's alert counts ("3 firing / 2 resolved"), from one indexed query."""

from __future__ import annotations

from django import template

from incidents.models import Alert

register = template.Library()


@register.simple_tag
def alert_counts(incident) -> dict:
    firing, resolved = Alert.objects.filter(incident=incident).counts()
    return {"firing": firing, "resolved": resolved, "total": firing + resolved}
