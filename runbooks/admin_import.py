"""The admin's "Import documents": upload -> preview (with the reading the admin can change) -> store.

    GET  import/                   the upload form
    POST import/                   keep the files as an ImportJob (in the database, never in the
                                   session) and show its preview
    GET  import/<job>/             the preview: each document's shape and why, each runbook with all its
                                   steps, phases, commands, cautions and warnings, severity decisions
    POST import/<job>/  reread     read a document another way (one runbook, each ##, each ###)
                        store      store now, or in the background when the upload is big
                        cancel     forget the upload
    GET  import/<job>/progress/    a background import's progress; polls itself while it runs

The reading chosen for a document is stored with its source and offered again next time it is uploaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from runbooks.models import ImportFile, ImportJob, SourceDocument

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_FILES = 20
MAX_UPLOAD_DOCUMENTS = 200  # documents of one upload, those inside zips included
PREVIEW_STEPS = 400  # steps shown per document on the preview page; the rest are counted
CHANGELIST = "admin:runbooks_runbook_changelist"


@dataclass(frozen=True)
class ImportPages:
    """Where an import's pages live: the admin's (below), or the console's own (setup/views_import.py), which
    reuse these views' steps."""

    upload: str = "admin:runbooks_runbook_import"
    preview: str = "admin:runbooks_runbook_import_preview"
    progress: str = "admin:runbooks_runbook_import_progress"
    done: str = CHANGELIST  # where storing a small upload leads
    cancelled: str = CHANGELIST


ADMIN_PAGES = ImportPages()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_empty_file", True)  # empty files get our own message, naming the file
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if not data and self.required:
            raise forms.ValidationError("Choose at least one document to upload.", code="required")
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class ImportForm(forms.Form):
    files = MultipleFileField(
        label="Documents",
        help_text="Markdown or plain-text runbooks, or a zip of a runbooks folder; up to 5 MB each, several at once.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.left_out: list[str] = []  # members of zips that are not documents: said on the preview

    def clean_files(self) -> list[tuple[str, bytes]]:
        from runbooks.store import unreadable_reason
        from runbooks.uploads import UploadRefused, looks_like_zip, unpack_zip

        uploads = self.cleaned_data["files"]
        if len(uploads) > MAX_UPLOAD_FILES:
            raise forms.ValidationError(f"Upload at most {MAX_UPLOAD_FILES} documents at a time.")
        files, errors = [], []
        for upload in uploads:
            name = (upload.name or "document").replace("\\", "/").rsplit("/", 1)[-1][:300]
            if upload.size > MAX_UPLOAD_BYTES:
                errors.append(f"{name}: too large ({upload.size / 1024 / 1024:.1f} MB; the limit is 5 MB).")
                continue
            data = upload.read()
            members = [(name, data)]
            if looks_like_zip(name, data):
                try:
                    unpacked = unpack_zip(name, data, max_member_bytes=MAX_UPLOAD_BYTES)
                except UploadRefused as exc:
                    errors.append(str(exc))
                    continue
                self.left_out.extend(unpacked.left_out)
                members = [(member[:300], body) for member, body in unpacked.documents]
            for member, body in members:
                reason = unreadable_reason(body)
                if reason:
                    errors.append(f"{name}: {member}: {reason}." if member != name else f"{name}: {reason}.")
                    continue
                files.append((member, body))
        if not errors and len(files) > MAX_UPLOAD_DOCUMENTS:
            errors.append(f"These uploads hold {len(files)} documents; import at most {MAX_UPLOAD_DOCUMENTS} "
                          "at a time (or a whole folder with `make import PATHS=...`).")
        if errors:
            raise forms.ValidationError(errors)
        return files


# --- views (wrapped by RunbookAdmin.get_urls in admin_site.admin_view) ------------------------------------


def upload_view(model_admin, request: HttpRequest) -> HttpResponse:
    _check(model_admin, request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = create_job(request, form)
        return redirect(ADMIN_PAGES.preview, job.pk)
    context = _context(model_admin, request, "Import documents", form=form, max_mb=MAX_UPLOAD_BYTES // 2**20)
    return TemplateResponse(request, "admin/runbooks/runbook/import.html", context)


def preview_view(model_admin, request: HttpRequest, job_id) -> HttpResponse:
    _check(model_admin, request)
    job = pending_job(request, job_id, ADMIN_PAGES)
    if isinstance(job, HttpResponse):
        return job
    files = list(job.files.order_by("order"))
    if request.method == "POST":
        return decide(request, job, files, ADMIN_PAGES)
    context = _context(model_admin, request, "Import preview", job=job, **preview_context(files))
    return TemplateResponse(request, "admin/runbooks/runbook/import_preview.html", context)


def progress_view(model_admin, request: HttpRequest, job_id) -> HttpResponse:
    _check(model_admin, request)
    job = get_object_or_404(ImportJob, pk=job_id, created_by=request.user)
    context = _context(model_admin, request, "Importing documents", job=job)
    template = "admin/runbooks/runbook/import_progress.html"
    if request.headers.get("HX-Request"):
        response = TemplateResponse(request, f"{template}#progress", context)
        if job.finished:
            response.status_code = 286  # htmx: stop polling
        return response
    return TemplateResponse(request, template, context)


# --- helpers ----------------------------------------------------------------------------------------------


def _check(model_admin, request: HttpRequest) -> None:
    from django.core.exceptions import PermissionDenied

    if not (model_admin.has_add_permission(request) and model_admin.has_change_permission(request)):
        raise PermissionDenied


def _context(model_admin, request, title: str, **extra) -> dict:
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "title": title, **extra}


def create_job(request: HttpRequest, form: ImportForm) -> ImportJob:
    """Keep a valid upload as an ImportJob (in the database, never the session), saying what zips left out."""
    from runbooks.store import stored_split

    ImportJob.forget_old()
    with transaction.atomic():
        job = ImportJob.objects.create(created_by=request.user)
        ImportFile.objects.bulk_create(
            ImportFile(job=job, order=n, name=name, data=data, size=len(data), split=stored_split(name))
            for n, (name, data) in enumerate(form.cleaned_data["files"])
        )
    if form.left_out:
        shown = form.left_out[:20]
        more = f" and {len(form.left_out) - len(shown)} more" if len(form.left_out) > len(shown) else ""
        messages.warning(request, f"Left out, not runbook documents: {'; '.join(shown)}{more}.")
    return job


def pending_job(request: HttpRequest, job_id, pages: ImportPages) -> ImportJob | HttpResponse:
    """This person's upload still waiting for a decision, or where to go instead (its progress, or upload)."""
    job = ImportJob.objects.filter(pk=job_id, created_by=request.user).first()
    if job is not None and job.state == ImportJob.State.PREVIEW:
        return job
    if job is not None and request.method == "GET" and not job.finished:
        return redirect(pages.progress, job.pk)
    messages.error(request, "That import has expired or was already stored. Upload the documents again.")
    return redirect(pages.upload)


def preview_context(files: list[ImportFile]) -> dict:
    """What a preview page shows: each document as read, and whether storing goes to the background."""
    previews = [preview_file(file) for file in files]
    return {
        "previews": previews, "splits": SourceDocument.Split.choices,
        "background": sum(p["steps"] for p in previews) > settings.IMPORT_BACKGROUND_STEPS,
        "storable": any(p["result"] is not None for p in previews),
    }


def decide(request: HttpRequest, job: ImportJob, files: list[ImportFile], pages: ImportPages) -> HttpResponse:
    """A POST on a preview: cancel, store, or read again the way chosen for each document."""
    action = request.POST.get("action")
    if action == "cancel":
        job.delete()
        messages.info(request, "Nothing was stored; the upload was forgotten.")
        return redirect(pages.cancelled)
    read_choices(request, files)
    if action == "store":
        return store_job(request, job, files, pages)
    return redirect(pages.preview, job.pk)  # 'reread': show the new reading


def read_choices(request: HttpRequest, files: list[ImportFile]) -> None:
    for file in files:
        split = request.POST.get(f"split-{file.pk}")
        if split in SourceDocument.Split.values and split != file.split:
            ImportFile.objects.filter(pk=file.pk).update(split=split)
            file.split = split


def _parse(file: ImportFile):
    from runbooks.importer import parse_document

    return parse_document(bytes(file.data), file.name, split=file.split)


def preview_file(file: ImportFile) -> dict:
    from runbooks.store import count_steps, preview_document

    doc = _parse(file)
    entry = {"file": file, "doc": doc, "error": "", "result": None, "steps": count_steps(doc),
             "runbooks": [], "hidden_steps": 0}
    shown = 0
    for runbook in doc.runbooks:
        steps = runbook.steps[: max(0, PREVIEW_STEPS - shown)]
        shown += len(steps)
        entry["hidden_steps"] += len(runbook.steps) - len(steps)
        entry["runbooks"].append({
            "runbook": runbook,
            "steps": [_step(step) for step in steps],
            "commands": sum(len(step.commands) for step in runbook.steps),
            "more": len(runbook.steps) - len(steps),
        })
    try:
        entry["result"] = preview_document(doc)
    except Exception as exc:  # noqa: BLE001 - shown on the page; the person decides
        entry["error"] = f"This document cannot be stored: {exc}"
    return entry


def _step(step) -> dict:
    """A step as it will be stored and shown on a checklist, with each command's destructive flag."""
    from runbooks import languages
    from runbooks.destructive import is_destructive
    from runbooks.store import step_text

    return {
        "phase": step.phase,
        "heading": step.heading,
        "text": step_text(step),
        "checkbox": step.checkbox,
        "commands": [
            {"language": c.language, "text": c.text,
             "destructive": is_destructive(c.text, languages.normalise(c.language))}
            for c in step.commands
        ],
    }


def store_job(request: HttpRequest, job: ImportJob, files: list[ImportFile],
              pages: ImportPages = ADMIN_PAGES) -> HttpResponse:
    from runbooks.store import count_steps

    docs = [(file, _parse(file)) for file in files]
    total_steps = sum(count_steps(doc) for _, doc in docs)
    # one person pressing Store twice: only the first claim stores
    claimed = ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.PREVIEW).update(
        state=ImportJob.State.QUEUED, total=len(files)
    )
    if claimed != 1:
        messages.error(request, "That import has expired or was already stored. Upload the documents again.")
        return redirect(pages.upload)
    if total_steps > settings.IMPORT_BACKGROUND_STEPS:
        from runbooks.tasks import enqueue_import

        transaction.on_commit(partial(enqueue_import, str(job.pk)))
        return redirect(pages.progress, job.pk)
    store_files(job, docs)
    job.refresh_from_db()
    for message in job.messages:
        getattr(messages, message["level"])(request, message["text"])
    return HttpResponseRedirect(reverse(pages.done))


def store_files(job: ImportJob, docs: list) -> None:
    """Store each parsed document in its own transaction, counting progress on the job; used by the
    request for small imports and by the background task for big ones."""
    from django.db.models import F

    from runbooks.store import store_document

    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING)
    notes: list[dict] = []
    for file, doc in docs:
        try:
            result = store_document(doc, by=job.created_by, source_bytes=bytes(file.data))
        except Exception as exc:  # noqa: BLE001 - one transaction per document: nothing of it was stored
            log.info("import %s: %s not stored: %s", job.pk, file.name, exc)
            notes.append({"level": "error", "text": f"Nothing stored from {file.name}: {exc}"})
        else:
            notes.append({"level": "success", "text": f"Stored {file.name}: {result}"})
            ImportFile.objects.filter(pk=file.pk).update(data=b"")  # the bytes are not needed any more
        ImportJob.objects.filter(pk=job.pk).update(done=F("done") + 1, messages=notes)
    failed = all(note["level"] == "error" for note in notes) and notes
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.FAILED if failed else ImportJob.State.DONE, finished_at=timezone.now()
    )
