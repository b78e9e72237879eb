"""Reminding action-item owners: a few days before the due date, and once the item is overdue.

A beat task (`remind_action_items`) stores one ActionReminder row per (item, kind, due date), under a unique
constraint, and enqueues its sending after commit on the `notifications` queue; the sender (`send_action_reminder`)
sends only a row not yet sent. So each reminder goes out once, however often beat runs or a task is redelivered.
A new due date earns new reminders.

Sending goes through incidents/notify.py: its email sender, and its one retry policy (NotificationTask retries a
TransientError with backoff; a PermanentError, such as a refused address, is noted on the reminder and not tried
again).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from . import notify
from .models import ActionItem, ActionReminder
from .notify import NotificationTask

log = logging.getLogger(__name__)


def due(today: date | None = None) -> list[tuple[ActionItem, str]]:
    """Open items that need a reminder of each kind today and have not had it for their current due date."""
    today = today or timezone.localdate()
    soon = today + timedelta(days=settings.ACTION_REMINDER_DAYS_BEFORE)
    items = ActionItem.objects.open().filter(due_date__lte=soon).select_related("owner", "incident")
    sent = set(ActionReminder.objects.filter(item__in=items).values_list("item_id", "kind", "due_date"))
    found = []
    for item in items:
        kind = ActionReminder.Kind.OVERDUE if item.due_date < today else ActionReminder.Kind.DUE_SOON
        if (item.pk, kind, item.due_date) not in sent:
            found.append((item, kind))
    return found


def plan_reminders(today: date | None = None) -> int:
    """Store the reminders due and enqueue each after commit; returns how many were stored."""
    stored = 0
    for item, kind in due(today):
        try:
            with transaction.atomic():
                reminder = ActionReminder.objects.create(item=item, kind=kind, due_date=item.due_date)
                transaction.on_commit(partial(send_action_reminder.delay, reminder.pk))
        except IntegrityError:  # another beat stored it first
            continue
        stored += 1
    return stored


def message(reminder: ActionReminder, base_url: str = "") -> tuple[str, str]:
    item = reminder.item
    incident = item.incident
    if reminder.kind == ActionReminder.Kind.OVERDUE:
        subject = f"Overdue action item from #{incident.pk}: {item.description[:80]}"
        when = f"was due on {item.due_date:%d %b %Y}"
    else:
        subject = f"Action item due {item.due_date:%d %b}: {item.description[:80]}"
        when = f"is due on {item.due_date:%d %b %Y}"
    link = base_url.rstrip("/") + reverse("incidents:postmortem", args=[incident.pk]) + f"#action-{item.pk}"
    body = (f"Hello {item.owner.get_full_name() or item.owner.get_username()},\n\n"
            f"The action item you own {when}:\n\n  {item.description}\n\n"
            f"It came from incident #{incident.pk} “{incident.title}” ({item.get_priority_display()} priority).\n"
            f"Mark it done, or say why it is not being done: {link}\n\n"
            "All open items: " + base_url.rstrip("/") + reverse("followup:actions") + "\n")
    return subject, body


@shared_task(name="incidents.reminders.remind_action_items", ignore_result=True)
def remind_action_items() -> int:
    """Beat: store and enqueue the reminders due now."""
    return plan_reminders()


@shared_task(name="incidents.reminders.send_action_reminder", base=NotificationTask, bind=True)
def send_action_reminder(self, reminder_id: int) -> str:  # noqa: ARG001 - bound for NotificationTask's retries
    """Send one stored reminder, once: a sent row (or a closed item) is left alone; a transient failure rolls the
    row back unsent and the task is retried by the notification policy."""
    with transaction.atomic():
        reminder = ActionReminder.objects.select_for_update().filter(pk=reminder_id).first()
        if reminder is None:
            return "gone"
        if reminder.sent_at is not None:
            return "already sent"
        item = ActionItem.objects.select_related("owner", "incident").get(pk=reminder.item_id)
        reminder.item = item
        now = timezone.now()
        if not item.is_open or item.due_date != reminder.due_date:
            ActionReminder.objects.filter(pk=reminder.pk).update(sent_at=now, outcome="not sent: the item changed")
            return "moot"
        if item.owner is None or not item.owner.email:
            ActionReminder.objects.filter(pk=reminder.pk).update(sent_at=now, outcome="not sent: no email address")
            log.warning("action item %s: owner has no email address; reminder %s not sent", item.pk, reminder.pk)
            return "no address"
        subject, body = message(reminder, settings.CONSOLE_URL)
        try:
            notify.send_email([item.owner.email], subject, body)
        except notify.PermanentError as exc:
            ActionReminder.objects.filter(pk=reminder.pk).update(sent_at=now, outcome=f"not sent: {exc}"[:300])
            log.warning("action item %s: reminder %s not sent: %s", item.pk, reminder.pk, exc)
            return "refused"
        ActionReminder.objects.filter(pk=reminder.pk).update(sent_at=now, outcome=f"sent to {item.owner.email}")
    return "sent"
