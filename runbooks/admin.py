"""Admin for the knowledge base: runbooks (steps inline, commands on each step's page), the severity
matrix, imported documents, and an "Import documents" page (contacts, services, rotations and escalation
policies: runbooks/admin_oncall.py).

Stock Django admin has no nested inlines, so a runbook's page edits its steps inline and each step
row links ("Change") to the step's own page, where its commands are edited inline. Saving either page
records a runbook version in the admin's transaction.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.db.models import Count
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.audit import AuditedAdminMixin
from runbooks import admin_oncall  # noqa: F401 - registers people, teams, channels, rotations and policies
from runbooks.models import Command, Runbook, SeverityLevel, SourceDocument, Step

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
class RunbookAdmin(AuditedAdminMixin, admin.ModelAdmin):
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
        from runbooks import admin_import

        info = self.model._meta.app_label, self.model._meta.model_name
        view = self.admin_site.admin_view

        def bound(function):
            return view(lambda request, **kwargs: function(self, request, **kwargs))

        return [
            path("import/", bound(admin_import.upload_view), name="%s_%s_import" % info),  # noqa: UP031
            path("import/<uuid:job_id>/", bound(admin_import.preview_view),
                 name="%s_%s_import_preview" % info),  # noqa: UP031
            path("import/<uuid:job_id>/progress/", bound(admin_import.progress_view),
                 name="%s_%s_import_progress" % info),  # noqa: UP031
            *super().get_urls(),
        ]


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
class StepAdmin(AuditedAdminMixin, admin.ModelAdmin):
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
    list_display = ("name", "title", "split", "imported_at", "sha256")
    fields = ("name", "title", "split", "sha256", "warnings", "imported_at")
    readonly_fields = ("name", "title", "sha256", "warnings", "imported_at")  # 'split' is the admin's choice
    search_fields = ("name", "title")

    def has_add_permission(self, request) -> bool:
        return False  # documents arrive through the importer
