"""Admin for the knowledge base: runbooks (steps inline, commands on each step's page), the severity
matrix, imported documents, and an "Import documents" page (contacts, services, rotations and escalation
policies: runbooks/admin_oncall.py).

Stock Django admin has no nested inlines, so a runbook's page edits its steps inline and each step
row links ("Change") to the step's own page, where its commands are edited inline. Saving either page
records a runbook version in the admin's transaction.
"""

from __future__ import annotations

import base64
import secrets

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from runbooks import admin_oncall  # noqa: F401 - registers people, teams, channels, rotations and policies
from runbooks.models import Command, Runbook, SeverityLevel, SourceDocument, Step

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_FILES = 20
IMPORT_SESSION_KEY = "runbook_import"
VERSIONS_SHOWN = 10


class StepInline(admin.TabularInline):
    model = Step
    fields = ("order", "phase", "heading", "text", "checkbox", "command_count")
    readonly_fields = ("command_count",)
    extra = 0
    show_change_link = True  # the step's own page edits its commands
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 48})},
        models.CharField: {"widget": forms.TextInput(attrs={"size": 24})},
    }

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_commands=Count("commands"))

    @admin.display(description="commands")
    def command_count(self, obj: Step) -> int:
        return getattr(obj, "_commands", 0)


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin):
    list_display = ("title", "key", "service", "version", "source", "updated_at")
    list_filter = ("service", "source")
    list_select_related = ("service", "source")
    search_fields = ("title", "key", "alerts", "error_patterns")
    readonly_fields = ("slug", "version", "source", "body_preview", "versions_list", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("title", "key", "slug", "service", "severity_text", "version", "source")}),
        ("Matching", {"fields": ("alerts", "error_patterns")}),
        ("Text", {"fields": ("summary", "body_markdown", "body_preview")}),
        ("History", {"fields": ("versions_list", "created_at", "updated_at")}),
    )
    inlines = [StepInline]
    formfield_overrides = {
        models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})},
    }
    change_list_template = "admin/runbooks/runbook/change_list.html"

    @admin.display(description="Preview")
    def body_preview(self, obj: Runbook) -> str:
        if not obj.pk or not obj.body_html:
            return "—"
        # body_html is stored by Runbook.save() from render_markdown(), which escapes raw HTML.
        return mark_safe(f'<div class="runbook-preview">{obj.body_html}</div>')  # noqa: S308

    @admin.display(description="Versions")
    def versions_list(self, obj: Runbook) -> str:
        if not obj.pk:
            return "—"
        versions = list(obj.versions.select_related("created_by").order_by("-number")[:VERSIONS_SHOWN])
        rows = format_html_join(
            "", "<tr><td>v{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((v.number, v.created_at.strftime("%Y-%m-%d %H:%M"), v.created_by or "—", v.note) for v in versions),
        )
        try:
            link = format_html('<p><a href="{}">Full history and differences</a></p>',
                               reverse("runbooks:versions", args=[obj.slug]))
        except NoReverseMatch:
            link = ""
        if not versions:
            return format_html("<p>No versions yet.</p>{}", link)
        return format_html(
            "<table><thead><tr><th>Version</th><th>When</th><th>By</th><th>Note</th></tr></thead>"
            "<tbody>{}</tbody></table>{}", rows, link,
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.record_version(by=request.user, note="edited in admin")

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="%s_%s_import" % info),  # noqa: UP031
            *super().get_urls(),
        ]

    # --- "Import documents": upload -> dry-run preview -> store -----------------------------------------

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("action") == "store":
            return self._import_store(request)
        if request.method == "POST" and request.POST.get("action") == "cancel":
            request.session.pop(IMPORT_SESSION_KEY, None)
            return redirect("admin:runbooks_runbook_changelist")
        form = ImportForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Import documents",
                   "form": form, "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
        if request.method == "POST" and form.is_valid():
            files = form.cleaned_data["files"]
            token = secrets.token_urlsafe(16)
            # The bytes wait in the session (not on disk) until the person presses "Store".
            request.session[IMPORT_SESSION_KEY] = {
                "token": token,
                "files": [{"name": name, "data": base64.b64encode(data).decode()} for name, data in files],
            }
            context.update(token=token, previews=_previews(files))
            return TemplateResponse(request, "admin/runbooks/runbook/import_preview.html", context)
        return TemplateResponse(request, "admin/runbooks/runbook/import.html", context)

    def _import_store(self, request: HttpRequest) -> HttpResponse:
        from runbooks.importer import parse_document
        from runbooks.store import store_document

        pending = request.session.get(IMPORT_SESSION_KEY)
        if not pending or pending.get("token") != request.POST.get("token"):
            messages.error(request, "That import has expired or was already stored. Upload the documents again.")
            return redirect("admin:runbooks_runbook_import")
        del request.session[IMPORT_SESSION_KEY]
        for item in pending["files"]:
            data = base64.b64decode(item["data"])
            try:
                result = store_document(parse_document(data, item["name"]), by=request.user, source_bytes=data)
            except Exception as exc:  # noqa: BLE001 - one transaction per document: nothing of it was stored
                messages.error(request, f"Nothing stored from {item['name']}: {exc}")
            else:
                messages.success(request, f"Stored {item['name']}: {result}")
        return HttpResponseRedirect(reverse("admin:runbooks_runbook_changelist"))


def _previews(files: list[tuple[str, bytes]]) -> list[dict]:
    from runbooks.importer import parse_document
    from runbooks.store import preview_document

    previews = []
    for name, data in files:
        doc = parse_document(data, name)
        entry = {
            "name": name, "title": getattr(doc, "title", ""), "error": "",
            "severity_levels": [s.name for s in getattr(doc, "severity_levels", None) or []],
            "contacts": [f"{c.name} ({c.role})" if c.role else c.name for c in getattr(doc, "contacts", None) or []],
            "escalation": len(getattr(doc, "escalation", None) or []),
        }
        try:
            entry["result"] = preview_document(doc)
        except Exception as exc:  # noqa: BLE001 - shown on the page; the person decides
            entry["error"] = f"This document cannot be stored: {exc}"
            entry["result"] = None
        previews.append(entry)
    return previews


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
        label="Documents", help_text="Markdown or plain-text runbooks; up to 5 MB each, several at once."
    )

    def clean_files(self) -> list[tuple[str, bytes]]:
        from runbooks.store import unreadable_reason

        uploads = self.cleaned_data["files"]
        if len(uploads) > MAX_UPLOAD_FILES:
            raise forms.ValidationError(f"Upload at most {MAX_UPLOAD_FILES} documents at a time.")
        files, errors = [], []
        for upload in uploads:
            name = (upload.name or "document").rsplit("/", 1)[-1]
            if upload.size > MAX_UPLOAD_BYTES:
                errors.append(f"{name}: too large ({upload.size / 1024 / 1024:.1f} MB; the limit is 5 MB).")
                continue
            data = upload.read()
            reason = unreadable_reason(data)
            if reason:
                errors.append(f"{name}: {reason}.")
                continue
            files.append((name, data))
        if errors:
            raise forms.ValidationError(errors)
        return files


# --- steps and their commands ------------------------------------------------------------------------


class CommandInline(admin.TabularInline):
    model = Command
    fields = ("order", "language", "text", "parameters", "destructive", "destructive_override", "needs_approval")
    readonly_fields = ("parameters", "destructive")
    extra = 0
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 56})},
        models.CharField: {"widget": forms.TextInput(attrs={"size": 8})},
    }


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ("__str__", "runbook", "phase", "order")
    list_select_related = ("runbook",)
    list_filter = ("phase",)
    search_fields = ("text", "heading", "runbook__title")
    autocomplete_fields = ("runbook",)
    inlines = [CommandInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.runbook.record_version(by=request.user, note="edited in admin")

    def delete_model(self, request, obj: Step) -> None:
        with transaction.atomic():
            runbook = obj.runbook
            super().delete_model(request, obj)
            runbook.record_version(by=request.user, note="step deleted in admin")

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            runbooks = {step.runbook for step in queryset.select_related("runbook")}
            super().delete_queryset(request, queryset)
            for runbook in runbooks:
                runbook.record_version(by=request.user, note="steps deleted in admin")


# --- the rest of the knowledge base ------------------------------------------------------------------


@admin.register(SeverityLevel)
class SeverityLevelAdmin(admin.ModelAdmin):
    list_display = ("name", "rank", "response_minutes", "response_text", "description")
    ordering = ("rank",)


@admin.register(SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "imported_at", "sha256")
    readonly_fields = ("name", "title", "sha256", "warnings", "imported_at")
    search_fields = ("name", "title")

    def has_add_permission(self, request) -> bool:
        return False  # documents arrive through the importer
