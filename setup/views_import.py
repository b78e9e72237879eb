"""Import from the browser: upload documents or a zip of a runbooks folder, see how each was read, store.

The same steps as the admin's "Import documents" (runbooks/admin_import.py: the form, the ImportJob kept in the
database, the preview with every warning and the reading an admin can change, storing now or in the background),
in the console's own pages, for people who set the console up rather than administer Django:

GET  /setup/import/                  the upload form
POST /setup/import/                  keep the upload and show its preview
GET  /setup/import/<job>/            the preview
POST /setup/import/<job>/            reread | store | cancel
GET  /setup/import/<job>/progress/   a background import's progress (polls itself while it runs)
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from runbooks import admin_import
from runbooks.models import ImportJob

PAGES = admin_import.ImportPages(upload="setup:import", preview="setup:import_preview",
                                 progress="setup:import_progress", done="setup:page", cancelled="setup:import")
CAN_IMPORT = ("runbooks.add_runbook", "runbooks.change_runbook")


@require_http_methods(["GET", "POST"])
@permission_required(CAN_IMPORT, raise_exception=True)
def upload(request):
    # bound on any POST, an empty one too: it says what is missing rather than showing the form again
    form = admin_import.ImportForm(request.POST, request.FILES) if request.method == "POST" else \
        admin_import.ImportForm()
    if request.method == "POST" and form.is_valid():
        job = admin_import.create_job(request, form)
        return redirect(PAGES.preview, job.pk)
    return render(request, "setup/import.html", {
        "form": form, "max_mb": admin_import.MAX_UPLOAD_BYTES // 2**20,
        "max_documents": admin_import.MAX_UPLOAD_DOCUMENTS,
    }, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@permission_required(CAN_IMPORT, raise_exception=True)
def preview(request, job_id):
    job = admin_import.pending_job(request, job_id, PAGES)
    if isinstance(job, HttpResponse):
        return job
    files = list(job.files.order_by("order"))
    if request.method == "POST":
        return admin_import.decide(request, job, files, PAGES)
    return render(request, "setup/import_preview.html", {"job": job, **admin_import.preview_context(files)})


@require_GET
@permission_required(CAN_IMPORT, raise_exception=True)
def progress(request, job_id):
    job = get_object_or_404(ImportJob, pk=job_id, created_by=request.user)
    if request.htmx:
        response = render(request, "setup/import_progress.html#progress", {"job": job})
        if job.finished:
            response.status_code = 286  # htmx: stop polling
        return response
    return render(request, "setup/import_progress.html", {"job": job})
