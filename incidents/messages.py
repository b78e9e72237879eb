"""What a page says, and its acknowledge link: signed, expiring, single-purpose, single-use.

The link carries only the page's id, signed with `django.core.signing` under its own salt (a token made for
anything else does not open it) and checked against PAGE_ACK_LINK_MAX_AGE. Using it marks the page's
`ack_used_at` in the transaction that acknowledges the incident, so a second click finds it used. It
acknowledges as the contact the page went to (their console account when the contact has one) and does nothing
else: no session is opened, and the view behind it offers no other action.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .choices import EventSource
from .models import Incident, IncidentError, Page
from .notify import slack_escape

ACK_SALT = "incidents.page.acknowledge.v1"


class AckLinkError(Exception):
    """The link cannot acknowledge; the message is for the person who clicked it."""


def absolute(path: str) -> str:
    return settings.CONSOLE_URL.rstrip("/") + path


def ack_token(page: Page) -> str:
    return signing.dumps({"p": page.pk}, salt=ACK_SALT)


def ack_url(page: Page) -> str:
    return absolute(reverse("page_ack", args=[ack_token(page)]))


def ack_expires_at(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.PAGE_ACK_LINK_MAX_AGE)


def _why(page: Page) -> str:
    if page.kind == Page.Kind.MANUAL:
        who = page.requested_by.get_full_name() or page.requested_by.get_username() if page.requested_by else ""
        return f"{who or 'Someone'} paged you by hand."
    if page.kind == Page.Kind.SEVERITY:
        return f"The severity was raised to {page.incident.severity.name}."
    name = (page.escalation.snapshot or {}).get("name") or "the escalation policy"
    via = f" (through {page.via})" if page.via else ""
    return f"You are paged{via}: {page.tier_label} of {name}."


def compose(page: Page) -> tuple[str, str, dict]:
    """(email subject, plain text, Slack-compatible chat payload) for a page."""
    incident = page.incident
    severity = incident.severity
    link, ack = absolute(incident.get_absolute_url()), ack_url(page)
    expires = timezone.localtime(ack_expires_at()).strftime("%H:%M on %d %b")
    subject = f"[{severity.name}] #{incident.pk} {incident.title}"
    lines = [
        f"{severity.name}: {incident.title}",
        f"{severity.description}" if severity.description else "",
        f"Status: {incident.get_status_display()}" + (f" · service {incident.service.name}" if incident.service_id
                                                      else ""),
        "",
        _why(page),
        "",
        f"Open the incident: {link}",
        f"Acknowledge as {page.name}: {ack}",
        "",
        f"The acknowledge link works once, only to acknowledge this incident, until {expires}.",
    ]
    text = "\n".join(line for i, line in enumerate(lines) if line or (i and lines[i - 1]))
    chat_text = (f":rotating_light: *[{slack_escape(severity.name)}] <{link}|#{incident.pk} "
                 f"{slack_escape(incident.title)}>*\n{slack_escape(_why(page))}\n"
                 f"<{ack}|Acknowledge as {slack_escape(page.name)}> (works once, until {expires})")
    return subject, text, {"text": chat_text}


def read_ack_token(token: str) -> Page:
    """The page a link was made for, or AckLinkError saying why the link cannot be used."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=settings.PAGE_ACK_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise AckLinkError("This acknowledge link has expired. Open the incident in the console to acknowledge "
                           "it there.") from None
    except signing.BadSignature:
        raise AckLinkError("This is not a valid acknowledge link: it may have been cut short or changed. Use the "
                           "link exactly as it came, or acknowledge in the console.") from None
    page = Page.objects.select_related("incident__severity", "contact__user").filter(
        pk=data.get("p") if isinstance(data, dict) else None).first()
    if page is None:
        raise AckLinkError("The page this link was sent with no longer exists.")
    return page


def acknowledge_by_link(token: str) -> Page:
    """Acknowledge the incident as the contact the page went to; once per link."""
    page = read_ack_token(token)
    if page.ack_used_at is not None:
        raise AckLinkError(f"This link was already used, at {timezone.localtime(page.ack_used_at):%H:%M on %d %b}.")
    incident: Incident = page.incident
    user = page.contact.user if page.contact_id and page.contact.user_id else None
    try:
        with transaction.atomic():
            if not Page.objects.filter(pk=page.pk, ack_used_at__isnull=True).update(ack_used_at=timezone.now()):
                raise AckLinkError("This link was already used.")
            if not incident.is_open:
                raise AckLinkError(f"#{incident.pk} is {incident.get_status_display().lower()}: there is nothing "
                                   "to acknowledge.")
            incident.acknowledge(by=user, name=page.name, source=EventSource.SYSTEM,
                                 data={"page": page.pk, "via": "acknowledge link", "contact": page.contact_id})
    except IncidentError as exc:
        raise AckLinkError(str(exc)) from None
    return page
