"""The admin's import: the preview shows how each document was read and lets the admin read it another way;
uploads wait in the database (never the session); big imports are stored by a background task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from runbooks.models import Command, ImportFile, ImportJob, Runbook, SourceDocument, Step
from runbooks.tasks import enqueue_import, run_import

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:runbooks_runbook_import")
TWO = b"""# Cache alerts

## Cache Hit Rate Low

The hit rate is under 80%.

1. Flush the bad keys: `redis-cli --scan --pattern 'tmp:*' | xargs redis-cli del`
2. Warm the cache: `./warm-cache --all`

> **Note:** warming takes ten minutes.

## Cache Evictions High

1. Raise the memory limit: `redis-cli CONFIG SET maxmemory 4gb`
"""


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def upload(client, name="cache.md", data=TWO):
    return client.post(IMPORT_URL, {"files": [SimpleUploadedFile(name, data)], "action": "preview"}, follow=True)


def preview_url(job=None) -> str:
    job = job or ImportJob.objects.latest("created_at")
    return reverse("admin:runbooks_runbook_import_preview", args=[job.pk])


def test_the_upload_waits_in_the_database_not_in_the_session(admin_client):
    upload(admin_client)

    (file,) = ImportFile.objects.all()
    assert bytes(file.data) == TWO and file.job.state == "preview"
    assert all(b"Cache Hit Rate Low" not in str(value).encode() for value in admin_client.session.values())


def test_the_preview_shows_the_shape_why_and_every_step_command_and_caution(admin_client):
    html = upload(admin_client).content.decode()

    assert "Read as:" in html and "catalogue" in html
    assert "2 sections hold a runbook each" in html
    assert "Cache Hit Rate Low" in html and "Cache Evictions High" in html
    assert "redis-cli CONFIG SET maxmemory 4gb" in html
    assert "<code>./warm-cache --all</code>" in html  # step text as prose, code as code
    assert "Caution:</strong> warming takes ten minutes." in html
    assert 'class="destructive">destructive' in html  # the del pipeline is flagged before storing
    assert not Runbook.objects.exists()


def test_another_reading_is_shown_before_storing_and_remembered_for_the_document(admin_client):
    upload(admin_client)
    url = preview_url()

    page = admin_client.post(url, {"action": "reread", f"split-{ImportFile.objects.get().pk}": "document"},
                             follow=True)
    assert page.redirect_chain[-1][0] == url
    assert "read as one runbook, as asked" in page.content.decode()
    assert not Runbook.objects.exists()

    admin_client.post(url, {"action": "store"})
    assert list(Runbook.objects.values_list("title", flat=True)) == ["Cache alerts"]
    assert SourceDocument.objects.get(name="cache.md").split == "document"

    upload(admin_client)  # the same document again: read the way it was chosen
    assert ImportJob.objects.latest("created_at").files.get().split == "document"


def test_a_reading_that_is_not_one_of_the_choices_is_ignored(admin_client):
    upload(admin_client)
    file = ImportFile.objects.get()

    admin_client.post(preview_url(), {"action": "reread", f"split-{file.pk}": "everything"})

    file.refresh_from_db()
    assert file.split == "auto"


def test_a_big_upload_is_stored_in_the_background_and_its_page_shows_the_progress(
    admin_client, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.IMPORT_BACKGROUND_STEPS = 1
    upload(admin_client)
    job = ImportJob.objects.get()
    sent = []
    monkeypatch.setattr(run_import, "apply_async", lambda args, **kw: sent.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(preview_url(job), {"action": "store"})

    progress = reverse("admin:runbooks_runbook_import_progress", args=[job.pk])
    assert response.status_code == 302 and response.url == progress
    assert sent == [(str(job.pk),)] and not Runbook.objects.exists()
    page = admin_client.get(progress).content.decode()
    assert "Queued: 0 of 1 document" in page and 'hx-trigger="every 1s"' in page

    run_import(str(job.pk))  # what the worker does

    assert Runbook.objects.count() == 2
    job.refresh_from_db()
    assert (job.state, job.done, job.total) == ("done", 1, 1)
    assert bytes(job.files.get().data) == b""  # the bytes are not kept once stored
    poll = admin_client.get(progress, HTTP_HX_REQUEST="true")
    assert poll.status_code == 286  # htmx stops polling
    assert "Stored cache.md: 2 created" in poll.content.decode()


def test_a_job_is_stored_once_even_if_its_task_is_delivered_twice(admin_client):
    upload(admin_client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(state="queued", total=1)

    run_import(str(job.pk))
    run_import(str(job.pk))

    assert Runbook.objects.count() == 2
    assert len(ImportJob.objects.get().messages) == 1


def test_an_unreachable_broker_fails_the_job_with_a_reason(admin_client, monkeypatch):
    upload(admin_client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(state="queued", total=1)

    def down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(run_import, "apply_async", down)
    enqueue_import(str(job.pk))

    job.refresh_from_db()
    assert job.state == "failed" and "could not be handed to a worker" in job.messages[0]["text"]


def test_a_document_over_the_limits_says_so_on_the_preview_and_cannot_be_stored(admin_client, settings):
    settings.IMPORT_MAX_STEPS = 2
    html = upload(admin_client).content.decode()

    assert "cache.md holds 4 steps; one document may hold at most 2 (IMPORT_MAX_STEPS)" in html
    assert 'value="store"' not in html


def test_cancel_forgets_the_upload(admin_client):
    upload(admin_client)

    admin_client.post(preview_url(), {"action": "cancel"})

    assert not ImportJob.objects.exists() and not ImportFile.objects.exists()


def test_another_admins_upload_cannot_be_seen_or_stored(admin_client, django_user_model, client):
    upload(admin_client)
    url = preview_url()
    other = django_user_model.objects.create_superuser("other", "o@example.com", "a long password 123")
    client.force_login(other)

    response = client.post(url, {"action": "store"}, follow=True)

    assert "expired or was already stored" in response.content.decode()
    assert not Runbook.objects.exists()


def test_uploads_nobody_decided_about_for_a_day_are_forgotten(admin_client):
    upload(admin_client)
    ImportJob.objects.update(created_at=timezone.now() - timedelta(days=2))

    upload(admin_client, name="other.md")

    assert list(ImportFile.objects.values_list("name", flat=True)) == ["other.md"]


def test_admin_decisions_survive_storing_the_document_again(admin_client):
    upload(admin_client)
    admin_client.post(preview_url(), {"action": "store"})
    flush = Command.objects.get(text__startswith="redis-cli --scan")
    with transaction.atomic():  # what saving the step's page in the admin does
        flush.destructive_override = False
        flush.save()
        Step.objects.filter(text__startswith="Warm the cache").update(phase="mitigation")
        flush.step.runbook.record_version(note="edited in admin")

    upload(admin_client)
    page = admin_client.post(preview_url(), {"action": "store"}, follow=True).content.decode()

    assert Command.objects.get(text__startswith="redis-cli --scan").destructive_override is False
    assert Step.objects.get(text__startswith="Warm the cache").phase == "mitigation"
    assert "0 created, 0 updated, 2 unchanged" in page  # nothing the document says has changed


def test_an_unknown_import_is_not_found_rather_than_an_error(admin_client):
    import uuid

    missing = uuid.uuid4()
    progress = admin_client.get(reverse("admin:runbooks_runbook_import_progress", args=[missing]))
    preview = admin_client.get(reverse("admin:runbooks_runbook_import_preview", args=[missing]), follow=True)

    assert progress.status_code == 404
    assert "expired or was already stored" in preview.content.decode()


def test_the_import_pages_need_a_user_who_may_add_and_change_runbooks(client, viewer):
    client.force_login(viewer)

    response = client.get(IMPORT_URL)
    posted = client.post(IMPORT_URL, {"files": [SimpleUploadedFile("x.md", TWO)], "action": "preview"})

    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    assert posted.status_code == 302 and not ImportJob.objects.exists()
