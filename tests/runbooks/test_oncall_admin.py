"""Admins edit people, channels, rotations and policies; a policy that cannot run is refused with the reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from runbooks.models import Contact, EscalationPolicy, RotationOverride
from runbooks.secrets import UNREADABLE
from tests.factories import make_severities
from tests.paging_factories import make_channel, make_person, make_policy, make_rotation

pytestmark = pytest.mark.django_db


def policy_form(name="SEV1 escalation", severity=None, tiers=(), **fields) -> dict:
    """POST data for the policy admin: tiers are (delay, [contact ids], [rotation ids])."""
    data = {"name": name, "severity": str(severity.pk) if severity else "", "service": "", "repeat": "0",
            "continue_with": "", "description": "", "tiers-TOTAL_FORMS": str(len(tiers)),
            "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000", **fields}
    for i, (delay, contacts, rotations) in enumerate(tiers):
        data.update({f"tiers-{i}-order": str(i), f"tiers-{i}-delay_minutes": "" if delay is None else str(delay),
                     f"tiers-{i}-contacts": [str(c) for c in contacts],
                     f"tiers-{i}-rotations": [str(r) for r in rotations],
                     f"tiers-{i}-notify_names": "[]", f"tiers-{i}-action": ""})
    return data


ADD = "admin:runbooks_escalationpolicy_add"


def test_a_policy_that_can_run_is_saved(admin_client):
    sev = make_severities()[0]
    ana, ops = make_person("Ana"), make_channel("#ops", webhook_url="https://hooks.example.com/services/x")
    response = admin_client.post(reverse(ADD), policy_form(severity=sev, tiers=[(5, [ana.pk, ops.pk], [])]))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert EscalationPolicy.objects.get().tiers.get().contacts.count() == 2


def test_a_policy_without_tiers_is_refused_and_nothing_is_saved(admin_client):
    response = admin_client.post(reverse(ADD), policy_form(severity=make_severities()[0]))
    assert response.status_code == 200
    assert "SEV1 escalation has no tiers: add at least one tier" in response.content.decode()
    assert not EscalationPolicy.objects.exists()


def test_a_target_the_console_cannot_page_is_refused_with_who_and_why(admin_client):
    fay = make_person("Fay", email=None, phone="+1-555-0100")
    silent = make_channel("#quiet")
    rotation = make_rotation("Empty rotation", [])
    response = admin_client.post(reverse(ADD), policy_form(
        severity=make_severities()[0], tiers=[(5, [fay.pk, silent.pk], []), (None, [], [rotation.pk])]))
    html = response.content.decode()
    assert "Tier 1: Fay has no email address, so the console cannot page them (a phone number is for people" in html
    assert "Tier 1: #quiet has no webhook URL" in html
    assert "Tier 2: the rotation Empty rotation has nobody in it" in html
    assert not EscalationPolicy.objects.exists()


def test_a_policy_that_loops_through_continue_with_is_refused(admin_client):
    sev = make_severities()
    ana = make_person("Ana")
    first = make_policy(sev[0], [(5, [ana])], name="Checkout")
    second = make_policy(sev[1], [(5, [ana])], name="Platform")
    second.continue_with = first
    second.save()
    tier = first.tiers.get()
    data = policy_form("Checkout", sev[0], [(5, [ana.pk], [])], continue_with=str(second.pk))
    data.update({"tiers-INITIAL_FORMS": "1", "tiers-0-id": str(tier.pk), "tiers-0-policy": str(first.pk)})
    response = admin_client.post(reverse("admin:runbooks_escalationpolicy_change", args=[first.pk]), data)
    assert "The policy loops: Checkout → Platform → Checkout" in response.content.decode()
    assert EscalationPolicy.objects.get(pk=first.pk).continue_with is None


def test_zero_delays_with_a_repeat_are_refused(admin_client):
    ana = make_person("Ana")
    response = admin_client.post(reverse(ADD), policy_form(severity=make_severities()[0], repeat="3",
                                                            tiers=[(0, [ana.pk], [])]))
    assert "would page everyone 4 times in the same minute" in response.content.decode()


def test_a_webhook_url_is_stored_encrypted_never_shown_and_checked(admin_client):
    url = reverse("admin:runbooks_channel_add")
    refused = admin_client.post(url, {"name": "#ops", "role": "", "channel": "#ops", "chat_url": "",
                                      "new_webhook_url": "http://169.254.169.254/latest"})
    assert "cloud metadata address" in refused.content.decode() and not Contact.objects.exists()

    secret = "https://hooks.example.com/services/T1/B2/very-secret"
    response = admin_client.post(url, {"name": "#ops", "role": "", "channel": "#ops", "chat_url": "",
                                       "new_webhook_url": secret})
    assert response.status_code == 302
    channel = Contact.objects.get()
    assert channel.kind == "channel" and channel.webhook_url == secret
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_url FROM runbooks_contact")
        stored = cursor.fetchone()[0]
    assert "very-secret" not in stored and stored.startswith("gAAAA")
    page = admin_client.get(reverse("admin:runbooks_channel_change", args=[channel.pk])).content.decode()
    assert "very-secret" not in page and "hooks.example.com/…" in page
    listing = admin_client.get(reverse("admin:runbooks_channel_changelist")).content.decode()
    assert "very-secret" not in listing

    # Saving without typing a new one keeps it.
    admin_client.post(reverse("admin:runbooks_channel_change", args=[channel.pk]),
                      {"name": "#ops", "role": "war room", "channel": "#ops", "chat_url": "", "new_webhook_url": ""})
    assert Contact.objects.get().webhook_url == secret


def test_a_webhook_unreadable_after_a_secret_key_change_asks_to_be_set_again(client, admin_user, settings):
    channel = make_channel("#ops", webhook_url="https://hooks.example.com/services/x")
    settings.SECRET_KEY = "a-completely-different-secret-key-for-this-test-0123456789"
    assert Contact.objects.get(pk=channel.pk).webhook_url == UNREADABLE
    client.force_login(admin_user)  # the old session was signed with the old key
    response = client.post(reverse("admin:runbooks_channel_change", args=[channel.pk]),
                                 {"name": "#ops", "role": "", "channel": "#ops", "chat_url": "",
                                  "new_webhook_url": ""})
    assert "cannot be read with the current SECRET_KEY" in response.content.decode()


def test_a_secret_key_in_the_fallbacks_still_reads_the_webhook(settings):
    channel = make_channel("#ops", webhook_url="https://hooks.example.com/services/x")
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new-secret-key-" + "x" * 40, [old]
    assert Contact.objects.get(pk=channel.pk).webhook_url == "https://hooks.example.com/services/x"


def test_rotations_hand_over_and_overrides_win():
    anchor = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    ana, ben, cleo = make_person("Ana"), make_person("Ben"), make_person("Cleo")
    rotation = make_rotation("Primary", [ana, ben], length="weekly", handoff_at=anchor)
    assert rotation.on_call(anchor) == ana
    assert rotation.on_call(anchor + timedelta(days=6, hours=23)) == ana
    assert rotation.on_call(anchor + timedelta(days=7)) == ben
    assert rotation.on_call(anchor + timedelta(days=14)) == ana
    assert rotation.on_call(anchor - timedelta(hours=1)) == ben  # the shift before the anchor
    RotationOverride.objects.create(rotation=rotation, person=cleo, starts_at=anchor + timedelta(days=1),
                                    ends_at=anchor + timedelta(days=2))
    assert rotation.on_call(anchor + timedelta(days=1, hours=3)) == cleo
    assert rotation.next_handoff(anchor + timedelta(days=1, hours=3)) == anchor + timedelta(days=2)
    assert rotation.on_call(anchor + timedelta(days=2)) == ana


def test_an_override_that_ends_before_it_starts_is_refused(admin_client):
    rotation = make_rotation("Primary", [make_person("Ana")])
    ben = make_person("Ben")
    when = "2026-03-02"
    data = {"name": "Primary", "team": "", "handoff_at_0": when, "handoff_at_1": "09:00:00", "length": "daily",
            "description": "", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
            "overrides-TOTAL_FORMS": "1", "overrides-INITIAL_FORMS": "0", "overrides-0-person": str(ben.pk),
            "overrides-0-starts_at_0": when, "overrides-0-starts_at_1": "12:00:00",
            "overrides-0-ends_at_0": when, "overrides-0-ends_at_1": "10:00:00", "overrides-0-reason": "swap"}
    response = admin_client.post(reverse("admin:runbooks_rotation_change", args=[rotation.pk]), data)
    assert "An override ends after it starts." in response.content.decode()
    assert not RotationOverride.objects.exists()


def test_the_people_rotation_and_policy_admin_pages_open(admin_client):
    make_rotation("Primary", [make_person("Ana")])
    for name in ("person", "team", "channel", "contact", "rotation", "escalationpolicy", "service"):
        assert admin_client.get(reverse(f"admin:runbooks_{name}_changelist")).status_code == 200, name
        assert admin_client.get(reverse(f"admin:runbooks_{name}_add")).status_code == 200, name
