"""/setup/: what is configured and what is missing, each with its next step; admins only; constant queries."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.roles import ADMIN, COMMANDER
from incidents.models import AlertDelivery, ExecutionTarget, Integration
from runbooks.models import SourceDocument
from setup import workers
from tests.conftest import make_user
from tests.factories import make_runbook, make_severities
from tests.paging_factories import make_channel, make_person, make_policy, make_rotation

pytestmark = pytest.mark.django_db
URL = reverse("setup:page")


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    """No broker in these tests: the workers are whatever a test says answered."""
    cache.delete(workers.CACHE_KEY)
    answers = {"replies": {}}
    monkeypatch.setattr(workers, "_ask_if_any", lambda: answers["replies"])
    return answers


def area(html: str, key: str) -> str:
    found = re.search(rf'<section class="card setup-area[^"]*" id="setup-{key}".*?</section>', html, re.S)
    assert found, f"no {key} area"
    return found.group(0)


def state_of(html: str, key: str) -> str:
    return re.search(r'setup-state-(\w+)', area(html, key)).group(1)


@pytest.mark.parametrize("who", ["viewer", "responder", "commander"])
def test_only_admins_see_the_setup_page(client, users, who):
    client.force_login(users[who])
    assert client.get(URL).status_code == 403


def test_an_admin_role_without_staff_access_or_staff_without_the_role_is_refused(client, db):
    role_only = make_user("rolly", ADMIN)
    staff_only = make_user("stef", COMMANDER, is_staff=True)
    for user in (role_only, staff_only):
        client.force_login(user)
        assert client.get(URL).status_code == 403


def test_the_setup_link_shows_only_to_those_who_may_open_it(client, admin_user, db):
    staff_only = make_user("stef", COMMANDER, is_staff=True)
    client.force_login(staff_only)
    assert f'href="{URL}"' not in client.get("/").content.decode()
    client.force_login(admin_user)
    assert f'href="{URL}"' in client.get("/").content.decode()


def test_an_empty_console_says_what_is_missing_and_the_one_next_step_of_each(client, admin_user):
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert state_of(html, "runbooks") == "missing"
    assert state_of(html, "severity") == "missing"
    assert state_of(html, "contacts") == "missing"
    assert state_of(html, "policies") == "missing"
    assert state_of(html, "rotations") == "optional"
    assert "0 runbooks from 0 documents; last import never" in area(html, "runbooks")
    assert f'href="{reverse("setup:import")}"' in area(html, "runbooks")
    assert reverse("admin:runbooks_person_add") in area(html, "contacts")
    assert "Nothing leaves this machine yet" in area(html, "messages")
    assert "Start with <a href=\"#setup-runbooks\">Runbooks</a>" in html
    assert reverse("setup:guide", args=["getting-started"]) in html


def test_a_configured_console_shows_counts_last_import_and_every_warning_of_a_document(client, admin_user):
    sev = make_severities()
    make_runbook("Disk full")
    SourceDocument.objects.create(name="ops.md", sha256="0" * 64,
                                  warnings=["line 4: a table with no header", "SEV9 escalation: pages nobody"])
    ana = make_person("Ana Oncall")
    make_rotation("Primary", [ana])
    for level in sev:
        make_policy(level, [(5, [ana])])
    client.force_login(admin_user)
    html = client.get(URL).content.decode()

    runbooks = area(html, "runbooks")
    assert state_of(html, "runbooks") == "attention"
    assert "1 runbook from 1 document; last import just now" in runbooks
    assert "ops.md: 2 warnings" in runbooks
    assert "line 4: a table with no header" in runbooks and "SEV9 escalation: pages nobody" in runbooks
    assert state_of(html, "severity") == "done" and "SEV1 (also Critical, P1): respond within 15 min" in html
    assert state_of(html, "policies") == "done"
    assert state_of(html, "rotations") == "done" and "Primary: 1 person" in html


def test_severities_without_a_policy_and_people_who_cannot_be_paged_need_attention(client, admin_user):
    sev = make_severities()
    make_policy(sev[0], [(5, [make_person("Ana Oncall")])])
    make_person("Ned Noemail", email=None)
    make_channel("#quiet")
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert state_of(html, "policies") == "attention"
    assert "Severities without a policy: SEV2, SEV3, SEV4" in area(html, "policies")
    contacts = area(html, "contacts")
    assert state_of(html, "contacts") == "attention"
    assert "1 person without an email address" in contacts and "1 channel without a webhook URL" in contacts


def test_a_policy_for_any_severity_covers_every_level(client, admin_user):
    from runbooks.models import EscalationPolicy, EscalationTier

    make_severities()
    policy = EscalationPolicy.objects.create(name="Everything", severity=None)
    EscalationTier.objects.create(policy=policy, order=0, delay_minutes=5).contacts.set([make_person("Ana X")])
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert "Severities without a policy" not in html and state_of(html, "policies") == "done"


def test_integrations_say_when_each_last_received_an_alert(client, admin_user):
    quiet = Integration(name="staging-am", kind=Integration.Kind.ALERTMANAGER)
    quiet.set_new_token()
    quiet.save()
    busy = Integration(name="prod-am", kind=Integration.Kind.ALERTMANAGER)
    busy.set_new_token()
    busy.save()
    AlertDelivery.objects.create(integration=busy, kind=busy.kind, decision="new_incident",
                                 received_at=timezone.now() - timezone.timedelta(minutes=3))
    client.force_login(admin_user)
    html = area(client.get(URL).content.decode(), "integrations")
    assert "prod-am (Prometheus Alertmanager): last alert 3\xa0minutes ago" in html
    assert "staging-am (Prometheus Alertmanager): last alert never" in html
    assert "/api/v1/alerts/alertmanager/" in html
    assert reverse("setup:guide", args=["alertmanager"]) in html


def test_targets_say_whether_a_worker_consumes_their_queue_right_now(client, admin_user, no_workers):
    ExecutionTarget.objects.create(name="bastion", queue="commands",
                                   worker_report={"summary": "runs commands as user console-commands, in a "
                                                  "bubblewrap sandbox", "separate_user": True, "sandbox": True})
    ExecutionTarget.objects.create(name="eu-bastion", queue="commands-eu")
    no_workers["replies"] = {"commands@bastion": ["commands"], "worker@web": ["default", "notifications"]}
    client.force_login(admin_user)
    html = area(client.get(URL).content.decode(), "targets")
    assert "bastion: queue “commands”, consumed now by commands@bastion; its worker runs commands as user " \
           "console-commands" in html
    assert "eu-bastion: queue “commands-eu”, no worker consumes it right now" in html
    assert 'class="setup-state setup-state-attention"' in html


def test_the_workers_are_asked_at_most_once_in_a_while(client, admin_user, monkeypatch):
    asked = []
    monkeypatch.setattr(workers, "_ask_if_any", lambda: asked.append(1) or {"w@h": ["commands"]})
    ExecutionTarget.objects.create(name="local", queue="commands")
    client.force_login(admin_user)
    client.get(URL)
    client.get(URL)
    assert len(asked) == 1


def test_a_broker_that_does_not_answer_is_said_on_the_page_not_a_500(client, admin_user, monkeypatch):
    def down():
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(workers, "_ask_if_any", down)
    ExecutionTarget.objects.create(name="local", queue="commands")
    client.force_login(admin_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Could not ask the workers: the broker did not answer (ConnectionRefusedError" in \
        area(response.content.decode(), "targets")


def test_a_filesystem_broker_nobody_started_means_no_worker_rather_than_an_error(settings, tmp_path,
                                                                                monkeypatch):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"control_folder": str(tmp_path / "not-made-yet")}
    monkeypatch.setattr(workers, "_ask", lambda: pytest.fail("asked a broker that has no folder"))
    found = workers.queue_consumers(refresh=True)
    assert found.by_queue == {} and found.error == ""


def test_api_tokens_are_counted_with_the_admins_own(client, admin_user, commander):
    ApiToken.issue(admin_user, "ci")
    ApiToken.issue(commander, "bot")
    revoked, _ = ApiToken.issue(commander, "old")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    client.force_login(admin_user)
    assert "2 active tokens (1 yours)" in area(client.get(URL).content.decode(), "tokens")


def _fill(start: int, n: int) -> None:
    """n more of everything the page reads, half of it in a state the page warns about."""
    sev = make_severities()
    for i in range(start, start + n):
        person = make_person(f"Person {i} X", email=None if i % 2 else "")
        make_rotation(f"Rotation {i}", [person] if i % 3 else [])
        make_policy(sev[i % len(sev)], [(5, [person])], name=f"Policy {i}")
        make_runbook(f"Runbook {i}")
        SourceDocument.objects.create(name=f"doc-{i}.md", sha256="0" * 64, warnings=[f"warning {i}"])
        make_channel(f"#chan-{i}", webhook_url=f"https://hooks.example.com/{i}" if i % 2 else "")
        integration = Integration(name=f"am-{i}")
        integration.set_new_token()
        integration.save()
        AlertDelivery.objects.create(integration=integration, kind=integration.kind, decision="duplicate")
        ExecutionTarget.objects.create(name=f"target-{i}", queue=f"q{i}")
        ApiToken.issue(make_user(f"user{i}", None), "t")


def test_the_page_costs_the_same_number_of_queries_with_2_and_40_of_everything(client, admin_user):
    client.force_login(admin_user)
    _fill(0, 2)
    client.get(URL)  # the session's first read also fills the user memo; every later read costs the same
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    _fill(2, 38)
    with CaptureQueriesContext(connection) as large:
        html = client.get(URL).content.decode()
    assert "More documents have warnings" in html and "Rotation 39" not in html  # counted, not all listed
    assert len(large) == len(small) <= 20


def test_the_nav_shows_setup_to_staff_only(client, admin_user, viewer):
    client.force_login(admin_user)
    assert f'href="{URL}"' in client.get(reverse("dashboard")).content.decode()
    client.force_login(viewer)
    assert f'href="{URL}"' not in client.get(reverse("dashboard")).content.decode()


def test_the_admin_group_is_what_makes_an_admin(db):
    from setup.views import is_setup_admin

    user = make_user("grace", None, is_staff=True)
    assert not is_setup_admin(user)
    user.groups.add(Group.objects.get(name=ADMIN))
    user = type(user).objects.get(pk=user.pk)  # permissions are cached per instance
    assert is_setup_admin(user)
