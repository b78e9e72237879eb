"""Admin for the knowledge base: runbooks (steps inline, commands on each step's page), the severity
matrix, imported documents, and an "Import documents" page (contacts, services, rotations and escalation
policies: runbooks/admin_oncall.py).

Stock Django admin has no nested inlines, so a runbook's page edits its steps inline, each step with its
commands as text (one box, "---" on a line between two commands); each step row links ("Change") to the
step's own page, where each command's language, destructive override and approval are edited. Saving either
page records a runbook version in the admin's transaction.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.adminfields import LabelledTabularInline, LinesAdminMixin
from accounts.audit import AuditedAdminMixin
from runbooks import admin_oncall  # noqa: F401 - registers people, teams, channels, rotations and policies
from runbooks.models import Command, Runbook, SeverityLevel, SourceDocument, Step

VERSIONS_SHOWN = 10


COMMAND_BREAK = "---"


def split_commands(text: str) -> list[str]:
    """The commands box: commands separated by a line holding only ---; blank commands dropped."""
    commands, lines = [], []
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if line.strip() == COMMAND_BREAK:
            commands.append("\n".join(lines).strip("\n"))
            lines = []
        else:
            lines.append(line)
    commands.append("\n".join(lines).strip("\n"))
    return [c for c in commands if c.strip()]


class StepForm(forms.ModelForm):
    """A step with its commands in one box, on the runbook's own page."""

    commands_text = forms.CharField(
        label="Commands", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 38, "class": "commands-text", "spellcheck": "false"}),
        help_text=f"Exactly as they run; a line with only {COMMAND_BREAK} between two commands.",
    )

    class Meta:
        model = Step
        fields = ("order", "phase", "heading", "text", "checkbox")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            texts = [c.text for c in self.instance.commands.all()]  # prefetched by StepInline
            self.initial["commands_text"] = f"\n{COMMAND_BREAK}\n".join(texts)

    def save(self, commit: bool = True) -> Step:
        step = super().save(commit)
        if commit:
            self.save_commands(step)
        return step

    def save_commands(self, step: Step) -> None:
        """Commands follow the box: one whose text is unchanged keeps its language and flags wherever it moved;
        an edited one keeps them in its place; new ones are added, removed ones deleted."""
        if self.add_prefix("commands_text") not in self.data or "commands_text" not in self.changed_data:
            return  # a form without the box (a script posting the step alone) leaves the commands as they are
        wanted = split_commands(self.cleaned_data["commands_text"])
        existing = list(step.commands.all())
        by_text = {}
        for command in existing:
            by_text.setdefault(command.text, []).append(command)
        kept: list[Command | None] = [by_text[t].pop(0) if by_text.get(t) else None for t in wanted]
        spare = [c for c in existing if c not in kept]
        for order, (text, command) in enumerate(zip(wanted, kept, strict=True)):
            if command is None:
                command = spare.pop(0) if spare else Command(step=step, language=_language(existing))
            command.order, command.text = order, text
            command.save()
        for command in spare:
            command.delete()


def _language(commands: list[Command]) -> str:
    return commands[0].language if commands else Command._meta.get_field("language").default


class StepInline(LabelledTabularInline):
    model = Step
    form = StepForm
    fields = ("order", "phase", "heading", "text", "commands_text", "checkbox")
    extra = 0
    show_change_link = True  # the step's own page: each command's language, destructive override, approval
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})},
        models.CharField: {"widget": forms.TextInput(attrs={"size": 14})},
    }

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("commands")


@admin.register(Runbook)
class RunbookAdmin(AuditedAdminMixin, LinesAdminMixin, admin.ModelAdmin):
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
    lines_fields = {"alerts": {"help_text": "Alert names it answers."},
                    "error_patterns": {"help_text": "Error text it answers, as it appears in logs."}}
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


class CommandInline(LabelledTabularInline):
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
class SeverityLevelAdmin(LinesAdminMixin, admin.ModelAdmin):
    list_display = ("name", "rank", "response_minutes", "response_text", "description")
    ordering = ("rank",)
    lines_fields = {"aliases": {"help_text": "Other names for this level, e.g. P1 or Critical."},
                    "examples": {"help_text": "What this level looks like."}}


@admin.register(SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "split", "imported_at", "sha256")
    fields = ("name", "title", "split", "sha256", "warnings", "imported_at")
    readonly_fields = ("name", "title", "sha256", "warnings", "imported_at")  # 'split' is the admin's choice
    search_fields = ("name", "title")

    def has_add_permission(self, request) -> bool:
        return False  # documents arrive through the importer
