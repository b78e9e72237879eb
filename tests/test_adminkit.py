"""ReadOnlyAdminMixin (accounts/adminkit.py): the records the console writes itself are read in the admin, never
added or edited there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import CommandRun, TimelineEvent
from tests.factories import running_command

pytestmark = pytest.mark.django_db


def test_timeline_events_and_command_runs_are_read_not_changed(admin_client, admin_user):
    run = running_command(admin_user)
    event = TimelineEvent.objects.filter(incident=run.incident).first()
    for model, obj in ((TimelineEvent, event), (CommandRun, run)):
        name = f"admin:incidents_{model._meta.model_name}"
        assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
        page = admin_client.get(reverse(f"{name}_change", args=[obj.pk]))
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # shown, nothing to save
        assert admin_client.get(reverse(f"{name}_add")).status_code == 403
        assert admin_client.post(reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert TimelineEvent.objects.filter(pk=event.pk).exists() and CommandRun.objects.filter(pk=run.pk).exists()
    message = event.message
    admin_client.post(reverse("admin:incidents_timelineevent_change", args=[event.pk]), {"message": "rewritten"})
    assert TimelineEvent.objects.get(pk=event.pk).message == message
