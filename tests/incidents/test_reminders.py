"""Owners are reminded before the due date and once overdue, each reminder once (time-machine moves the days)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail

from incidents.models import ActionItem, ActionReminder
from incidents.reminders import plan_reminders, remind_action_items, send_action_reminder
from tests.conftest import make_user
from tests.incidents.timings import build

pytestmark = pytest.mark.django_db
DUE = date(2026, 12, 10)


def on(day: date, hour: int = 9):
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=UTC), tick=False)


@pytest.fixture
def item(commander, responder):
    incident = build(commander, responder)
    with on(date(2026, 12, 1)):
        return ActionItem.raise_item(incident, description="Alert on queue depth", owner=responder, due_date=DUE,
                                     by=commander)


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run the beat task and what it enqueued after commit (the tasks run as plain functions)."""
    def run():
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            remind_action_items()
        return len(callbacks)

    return run


@pytest.fixture(autouse=True)
def _send_inline(monkeypatch):
    # .delay() would need a broker; the reminder's send task runs in place, as a worker would run it.
    monkeypatch.setattr(send_action_reminder, "delay", lambda pk: send_action_reminder.run(pk))


def test_nothing_before_the_reminder_window(item, sent):
    with on(date(2026, 12, 7)):
        assert sent() == 0
    assert mail.outbox == [] and not ActionReminder.objects.exists()


def test_the_owner_is_reminded_two_days_before_once(item, sent, responder):
    with on(date(2026, 12, 8)):
        assert sent() == 1
        assert sent() == 0  # beat runs every 15 minutes: nothing new
    with on(date(2026, 12, 9)):
        assert sent() == 0  # still the same due date: already reminded
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [responder.email]
    assert message.subject == "Action item due 10 Dec: Alert on queue depth"
    assert "is due on 10 Dec 2026" in message.body and f"/incidents/{item.incident_id}/postmortem/#action-" \
        in message.body
    reminder = ActionReminder.objects.get()
    assert reminder.kind == "due_soon" and reminder.sent_at is not None and reminder.outcome.startswith("sent to ")


def test_and_once_more_when_overdue(item, sent):
    with on(date(2026, 12, 8)):
        sent()
    with on(date(2026, 12, 11)):
        assert sent() == 1
    with on(date(2026, 12, 20)):
        assert sent() == 0
    assert [m.subject for m in mail.outbox] == ["Action item due 10 Dec: Alert on queue depth",
                                                f"Overdue action item from #{item.incident_id}: Alert on queue depth"]


def test_a_new_due_date_earns_new_reminders(item, sent):
    with on(date(2026, 12, 8)):
        sent()
    ActionItem.objects.filter(pk=item.pk).update(due_date=date(2026, 12, 24))
    with on(date(2026, 12, 22)):
        assert sent() == 1
    assert len(mail.outbox) == 2 and "24 Dec" in mail.outbox[1].subject


def test_closed_items_are_not_reminded(item, sent, responder):
    item.complete(by=responder)
    with on(date(2026, 12, 11)):
        assert sent() == 0
    assert mail.outbox == []


def test_a_redelivered_send_task_does_not_send_twice(item):
    with on(date(2026, 12, 8)):
        plan_reminders()
    reminder = ActionReminder.objects.get()
    assert send_action_reminder.run(reminder.pk) == "sent"
    assert send_action_reminder.run(reminder.pk) == "already sent"
    assert send_action_reminder.run(999999) == "gone"
    assert len(mail.outbox) == 1


def test_an_item_closed_after_the_reminder_was_stored_is_not_sent(item, responder):
    with on(date(2026, 12, 8)):
        plan_reminders()
    item.complete(by=responder)
    assert send_action_reminder.run(ActionReminder.objects.get().pk) == "moot"
    assert mail.outbox == []


def test_an_owner_without_an_email_address_is_noted_not_retried(commander, responder):
    incident = build(commander, responder)
    silent = make_user("silent", None)
    silent.email = ""
    silent.save()
    with on(date(2026, 12, 1)):
        ActionItem.raise_item(incident, description="x", owner=silent, due_date=DUE, by=commander)
    with on(date(2026, 12, 8)):
        plan_reminders()
    reminder = ActionReminder.objects.get()
    assert send_action_reminder.run(reminder.pk) == "no address"
    reminder.refresh_from_db()
    assert reminder.outcome == "not sent: no email address" and mail.outbox == []


def test_the_sender_goes_on_the_notifications_queue_and_beat_runs_the_planner(settings):
    assert settings.CELERY_TASK_ROUTES["incidents.reminders.send_action_reminder"] == {"queue": "notifications"}
    assert settings.CELERY_BEAT_SCHEDULE["remind-action-items"]["task"] == "incidents.reminders.remind_action_items"


def test_a_refused_address_is_noted_and_a_transient_failure_leaves_it_to_retry(item, monkeypatch):
    from incidents import notify

    with on(date(2026, 12, 8)):
        plan_reminders()
    reminder = ActionReminder.objects.get()

    def flaky(to, subject, body):
        raise notify.TransientError("connection refused by smtp.example.com")

    monkeypatch.setattr(notify, "send_email", flaky)
    with pytest.raises(notify.TransientError):
        send_action_reminder.run(reminder.pk)  # NotificationTask retries it with the notification policy
    reminder.refresh_from_db()
    assert reminder.sent_at is None

    def refused(to, subject, body):
        raise notify.PermanentError("rosa@example.com refused (550 no such user)")

    monkeypatch.setattr(notify, "send_email", refused)
    assert send_action_reminder.run(reminder.pk) == "refused"
    reminder.refresh_from_db()
    assert reminder.outcome == "not sent: rosa@example.com refused (550 no such user)" and reminder.sent_at


def test_the_reminder_task_uses_the_notification_retry_policy():
    from incidents.notify import NotificationTask

    assert isinstance(send_action_reminder, NotificationTask)
