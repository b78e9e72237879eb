"""The knowledge base in the Django admin: runbooks, steps and commands, and importing documents."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from runbooks.admin_import import MAX_UPLOAD_BYTES
from runbooks.models import Command, ImportJob, Runbook, RunbookVersion, SourceDocument, Step
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:runbooks_runbook_import")
DOC = b"""# Queue runbooks

## Queue Backlog Growing

### Detection
- Alert: `QueueBacklogGrowing`

### Mitigation
1. Add consumers
   ```bash
   kubectl scale deploy/consumer --replicas=6 -n <namespace>
   ```
"""


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def upload(*files, client):
    """Upload and follow to the preview page."""
    return client.post(IMPORT_URL, {"files": list(files), "action": "preview"}, follow=True)


def preview_url() -> str:
    return reverse("admin:runbooks_runbook_import_preview", args=[ImportJob.objects.latest("created_at").pk])


def md(name="queue.md", data=DOC):
    return SimpleUploadedFile(name, data, content_type="text/markdown")


def test_the_changelist_lists_runbooks_and_links_the_import_page(admin_client):
    make_runbook("Checkout latency high")
    page = admin_client.get(reverse("admin:runbooks_runbook_changelist"))

    assert page.status_code == 200
    assert b"Checkout latency high" in page.content
    assert IMPORT_URL.encode() in page.content
    found = admin_client.get(reverse("admin:runbooks_runbook_changelist") + "?q=LATENCY")
    assert b"Checkout latency high" in found.content


def test_the_change_page_shows_the_rendered_body_steps_and_versions(admin_client):
    runbook = make_runbook("Checkout latency high")
    runbook.body_markdown = "## Why\n\nIt is **slow**. <script>alert(1)</script>"
    runbook.save()

    page = admin_client.get(reverse("admin:runbooks_runbook_change", args=[runbook.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>slow</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert "Confirm p99 latency on the dashboard" in html  # a step, inline
    assert "created by a test" in html  # the version list


def _formset_data(runbook, **overrides):
    steps = list(runbook.steps.all())
    data = {
        "title": runbook.title, "key": runbook.key or "", "service": "", "severity_text": "",
        "alerts": "[]", "error_patterns": "[]", "summary": "", "body_markdown": runbook.body_markdown,
        "steps-TOTAL_FORMS": str(len(steps)), "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0", "steps-MAX_NUM_FORMS": "1000",
    }
    for i, step in enumerate(steps):
        data.update({f"steps-{i}-id": str(step.pk), f"steps-{i}-runbook": str(runbook.pk),
                     f"steps-{i}-order": str(step.order), f"steps-{i}-phase": step.phase,
                     f"steps-{i}-heading": step.heading, f"steps-{i}-text": step.text})
    data.update(overrides)
    return data


def test_saving_a_runbook_in_the_admin_records_a_version(admin_client, admin_user):
    runbook = make_runbook("Checkout latency high")
    data = _formset_data(runbook, **{"steps-0-text": "Confirm p99 latency on the new dashboard"})

    response = admin_client.post(reverse("admin:runbooks_runbook_change", args=[runbook.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    version = runbook.versions.get(number=2)
    assert (version.created_by, version.note) == (admin_user, "edited in admin")
    assert version.snapshot["steps"][0]["text"] == "Confirm p99 latency on the new dashboard"


def test_saving_without_a_change_records_no_version(admin_client):
    runbook = make_runbook("Checkout latency high")
    admin_client.post(reverse("admin:runbooks_runbook_change", args=[runbook.pk]), _formset_data(runbook))

    assert runbook.versions.count() == 1


def test_commands_are_edited_on_the_step_page_and_record_a_version(admin_client):
    runbook = make_runbook("Checkout latency high")
    step = runbook.steps.get(order=1)
    command = step.commands.get()
    page = admin_client.get(reverse("admin:runbooks_step_change", args=[step.pk]))
    assert page.status_code == 200 and b"kubectl get pods -n &lt;namespace&gt;" in page.content

    data = {"runbook": str(runbook.pk), "order": "1", "phase": step.phase, "heading": "", "text": step.text,
            "commands-TOTAL_FORMS": "1", "commands-INITIAL_FORMS": "1", "commands-MIN_NUM_FORMS": "0",
            "commands-MAX_NUM_FORMS": "1000", "commands-0-id": str(command.pk), "commands-0-step": str(step.pk),
            "commands-0-order": "0", "commands-0-language": "bash",
            "commands-0-text": "kubectl get pods -n <namespace> -o wide", "commands-0-destructive_override": ""}
    response = admin_client.post(reverse("admin:runbooks_step_change", args=[step.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Command.objects.get(pk=command.pk).text == "kubectl get pods -n <namespace> -o wide"
    assert runbook.versions.count() == 2


def test_the_other_knowledge_admin_pages_open(admin_client):
    make_severities()
    for name in ("severitylevel", "contact", "service", "escalationpolicy", "sourcedocument", "step"):
        assert admin_client.get(reverse(f"admin:runbooks_{name}_changelist")).status_code == 200, name
    assert admin_client.get(reverse("admin:runbooks_escalationpolicy_add")).status_code == 200


def test_the_import_page_needs_a_user_who_may_add_runbooks(client, commander):
    commander.is_staff = True
    commander.save()
    client.force_login(commander)

    assert client.get(IMPORT_URL).status_code == 403


def test_an_upload_shows_a_preview_and_stores_nothing(admin_client):
    page = upload(md(), client=admin_client)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Nothing has been stored yet" in html
    assert "Queue Backlog Growing" in html
    assert "Runbooks to create (1)" in html
    assert not Runbook.objects.exists() and not SourceDocument.objects.exists()


def test_storing_after_the_preview_creates_the_runbooks(admin_client, admin_user):
    upload(md(), md("second.md", DOC.replace(b"Queue Backlog Growing", b"Consumer Lag High")), client=admin_client)

    response = admin_client.post(preview_url(), {"action": "store"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:runbooks_runbook_changelist")
    assert sorted(Runbook.objects.values_list("title", flat=True)) == ["Consumer Lag High", "Queue Backlog Growing"]
    assert RunbookVersion.objects.filter(created_by=admin_user).count() == 2
    assert b"Stored queue.md: 1 created" in response.content
    assert Step.objects.filter(commands__text__contains="--replicas=6").count() == 2


def test_storing_twice_with_the_same_preview_stores_once(admin_client):
    upload(md(), client=admin_client)
    url = preview_url()
    admin_client.post(url, {"action": "store"})
    response = admin_client.post(url, {"action": "store"}, follow=True)

    assert b"expired or was already stored" in response.content
    assert Runbook.objects.count() == 1


def test_a_second_preview_of_a_stored_document_shows_it_unchanged(admin_client):
    upload(md(), client=admin_client)
    admin_client.post(preview_url(), {"action": "store"})

    page = upload(md(), client=admin_client)
    assert "Runbooks unchanged (1)" in page.content.decode()


@pytest.mark.parametrize(("file", "message"), [
    (SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "logo.png: the file is binary"),
    (SimpleUploadedFile("empty.md", b""), "empty.md: the file is empty"),
    (SimpleUploadedFile("huge.md", b"#" * (MAX_UPLOAD_BYTES + 1)), "huge.md: too large"),
])
def test_bad_uploads_are_refused_with_a_message(admin_client, file, message):
    page = upload(file, md(), client=admin_client)

    assert page.status_code == 200
    assert message in page.content.decode()
    assert "These documents cannot be imported" in page.content.decode()
    assert not ImportJob.objects.exists()
    assert not Runbook.objects.exists()


def test_posting_no_file_asks_for_one(admin_client):
    page = admin_client.post(IMPORT_URL, {"action": "preview"})

    assert page.status_code == 200
    assert "Choose at least one document" in page.content.decode()


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_changelist_and_change_page_cost_the_same_queries_however_much_data(admin_client):
    from tests.factories import make_service

    first = make_runbook("Runbook 0", service=make_service("svc-0"))
    changelist = reverse("admin:runbooks_runbook_changelist")
    change = reverse("admin:runbooks_runbook_change", args=[first.pk])
    _queries(admin_client, changelist), _queries(admin_client, change)  # warm the content-type cache
    small = (_queries(admin_client, changelist), _queries(admin_client, change))

    for n in range(1, 8):
        make_runbook(f"Runbook {n}", service=make_service(f"svc-{n}"))
    big_steps = [("investigation", f"Step {i}", [f"echo {i}", f"echo {i}b"]) for i in range(12)]
    first.steps.all().delete()
    from django.db import transaction

    from runbooks.models import Command as CommandModel
    with transaction.atomic():
        for order, (phase, text, commands) in enumerate(big_steps):
            step = Step.objects.create(runbook=first, order=order, phase=phase, text=text)
            for n, command in enumerate(commands):
                CommandModel.objects.create(step=step, order=n, text=command)
        first.record_version(note="bigger")

    assert (_queries(admin_client, changelist), _queries(admin_client, change)) == small
