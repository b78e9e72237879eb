"""Importing from the browser at /setup/import/: documents or a zip of a folder, the preview, then store."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from runbooks.models import ImportFile, ImportJob, Runbook, SeverityLevel, SourceDocument

pytestmark = pytest.mark.django_db
UPLOAD = reverse("setup:import")
PROCEDURE = b"""# Cache evictions high

| Key | Value |
|---|---|
| Service | cache |
| Alert | CacheEvictionsHigh |

## Symptoms

- Evictions climb above 1000 a second.

## Mitigation

1. Raise the memory limit: `redis-cli CONFIG SET maxmemory 4gb`
2. Flush the temporary keys:
   ```bash
   redis-cli --scan --pattern 'tmp:*' | xargs redis-cli del
   ```
"""
POLICY = b"""# On-call policy

## Severity levels

| Severity | Meaning | Response Time |
|---|---|---|
| P1 | Everyone is down | 15 minutes |
| P2 | Some are down | 1 hour |

<<<<<<< a stray merge marker
"""


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(client, *files: tuple[str, bytes]):
    return client.post(UPLOAD, {"files": [SimpleUploadedFile(name, data) for name, data in files]}, follow=True)


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


def test_two_documents_are_previewed_with_every_step_command_and_warning_before_anything_is_stored(admin):
    page = upload(admin, ("cache.md", PROCEDURE), ("policy.md", POLICY))
    html = page.content.decode()
    job = ImportJob.objects.get()
    assert page.redirect_chain[-1][0] == reverse("setup:import_preview", args=[job.pk])
    assert "Nothing has been stored yet" in html
    assert "Read as:" in html and "procedure" in html and "policy" in html
    assert "Cache evictions high" in html and "redis-cli CONFIG SET maxmemory 4gb" in html
    assert 'class="badge badge-danger">destructive' in html  # the del pipeline, flagged before storing
    assert "P1, P2" in html
    assert not Runbook.objects.exists() and not SeverityLevel.objects.exists()


def test_storing_makes_the_runbooks_and_the_matrix_and_leads_back_to_the_setup_page(admin, monkeypatch):
    from setup import workers

    monkeypatch.setattr(workers, "_ask_if_any", dict)
    upload(admin, ("cache.md", PROCEDURE), ("policy.md", POLICY))
    job = ImportJob.objects.get()
    page = admin.post(reverse("setup:import_preview", args=[job.pk]), {"action": "store"}, follow=True)
    assert page.redirect_chain[-1][0] == reverse("setup:page")
    assert Runbook.objects.filter(title="Cache evictions high", service__name="cache").exists()
    assert list(SeverityLevel.objects.values_list("name", flat=True)) == ["P1", "P2"]
    html = page.content.decode()
    assert "Stored cache.md" in html and "Stored policy.md" in html
    assert "1 runbook from 2 documents" in html


def test_another_reading_is_shown_again_before_storing(admin):
    upload(admin, ("cache.md", PROCEDURE))
    job, file = ImportJob.objects.get(), ImportFile.objects.get()
    url = reverse("setup:import_preview", args=[job.pk])
    page = admin.post(url, {"action": "reread", f"split-{file.pk}": "h2"}, follow=True)
    assert page.redirect_chain[-1][0] == url
    assert "Symptoms" in page.content.decode() and ImportFile.objects.get().split == "h2"
    assert not Runbook.objects.exists()


def test_cancel_forgets_the_upload(admin):
    upload(admin, ("cache.md", PROCEDURE))
    job = ImportJob.objects.get()
    page = admin.post(reverse("setup:import_preview", args=[job.pk]), {"action": "cancel"}, follow=True)
    assert page.redirect_chain[-1][0] == UPLOAD and "Nothing was stored" in page.content.decode()
    assert not ImportJob.objects.exists() and not Runbook.objects.exists()


def test_a_zip_of_a_folder_is_unpacked_and_what_is_not_a_document_is_listed(admin):
    data = zipped({"runbooks/cache.md": PROCEDURE, "runbooks/policy/p.md": POLICY,
                   "runbooks/img/diagram.png": b"\x89PNG\r\n\x1a\n"})
    page = upload(admin, ("runbooks.zip", data))
    html = page.content.decode()
    assert sorted(ImportFile.objects.values_list("name", flat=True)) == ["runbooks/cache.md", "runbooks/policy/p.md"]
    assert "Left out, not runbook documents: runbooks.zip: runbooks/img/diagram.png" in html
    assert "Cache evictions high" in html


@pytest.mark.parametrize("name, data, says", [
    ("evil.zip", zipped({"../../etc/cron.d/x.md": b"# x\n"}), "points outside the folder"),
    ("bomb.zip", zipped({"big.md": b"\n" * (30 * 1024 * 1024)}), "uncompressed"),
    ("binary.zip", zipped({"notes.md": b"\x00\x01\x02binary"}), "runbooks.zip: notes.md: the file is binary"),
    ("broken.zip", b"PK\x03\x04 not really", "not a zip file that can be read"),
    ("images.zip", zipped({"a.png": b"\x89PNG"}), "holds no runbook documents"),
    ("empty.md", b"   \n", "empty.md: the file is empty"),
    ("photo.md", b"\x89PNG\r\n\x1a\n\x00\x00", "photo.md: the file is binary"),
])
def test_bad_uploads_are_refused_with_a_clear_message_and_nothing_is_kept(admin, name, data, says):
    if name == "binary.zip":
        name = "runbooks.zip"
    response = admin.post(UPLOAD, {"files": [SimpleUploadedFile(name, data)]})
    assert response.status_code == 400
    assert says in response.content.decode()
    assert "nothing was kept" in response.content.decode()
    assert not ImportJob.objects.exists() and not ImportFile.objects.exists()


def test_one_bad_file_among_good_ones_keeps_nothing(admin):
    response = admin.post(UPLOAD, {"files": [SimpleUploadedFile("cache.md", PROCEDURE),
                                             SimpleUploadedFile("evil.zip", zipped({"/etc/x.md": b"# x"}))]})
    assert response.status_code == 400 and not ImportJob.objects.exists()


def test_no_file_is_a_message_not_an_error(admin):
    response = admin.post(UPLOAD, {})
    assert response.status_code == 400 and "Choose at least one document" in response.content.decode()


def test_a_big_upload_is_stored_in_the_background_with_its_progress_shown(admin, settings, monkeypatch):
    from runbooks import tasks

    settings.IMPORT_BACKGROUND_STEPS = 1
    queued = []
    monkeypatch.setattr(tasks, "enqueue_import", queued.append)
    upload(admin, ("cache.md", PROCEDURE))
    job = ImportJob.objects.get()
    page = admin.post(reverse("setup:import_preview", args=[job.pk]), {"action": "store"}, follow=True)
    progress = reverse("setup:import_progress", args=[job.pk])
    assert page.redirect_chain[-1][0] == progress
    assert "Queued: 0 of 1 document" in page.content.decode()
    # the worker's task, run here: the page then says it is done and polling stops
    tasks.run_import.run(str(job.pk))
    poll = admin.get(progress, headers={"HX-Request": "true"})
    assert poll.status_code == 286 and "Stored: 1 of 1 document" in poll.content.decode()
    assert Runbook.objects.filter(title="Cache evictions high").exists()
    assert SourceDocument.objects.filter(name="cache.md").exists()


def test_someone_elses_import_is_not_yours_to_see(client, admin_user, db):
    from tests.conftest import make_user

    other = make_user("otto", "Admin", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    upload(client, ("cache.md", PROCEDURE))
    job = ImportJob.objects.get()
    client.force_login(other)
    page = client.get(reverse("setup:import_preview", args=[job.pk]), follow=True)
    assert page.redirect_chain[-1][0] == UPLOAD and "expired or was already stored" in page.content.decode()
    assert client.get(reverse("setup:import_progress", args=[job.pk])).status_code == 404


@pytest.mark.parametrize("who", ["viewer", "responder", "commander"])
def test_only_those_who_may_change_runbooks_import(client, users, who):
    client.force_login(users[who])
    assert client.get(UPLOAD).status_code == 403
    assert client.post(UPLOAD, {"files": [SimpleUploadedFile("cache.md", PROCEDURE)]}).status_code == 403
    assert not ImportJob.objects.exists()


def test_a_job_id_that_is_not_an_id_is_a_404(admin):
    assert admin.get("/setup/import/not-a-uuid/").status_code == 404
