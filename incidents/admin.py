"""Admin for incidents."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from accounts.adminfields import LinesAdminMixin
from accounts.adminkit import ReadOnlyAdminMixin
from accounts.audit import AuditedAdminMixin

from .models import ChecklistItem, CommandRun, ExecutionTarget, Incident, TimelineEvent

# --- incidents, checklists and the (read-only) timeline -------------------------------------------


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("pk", "title", "severity", "status", "commander", "declared_at", "resolved_at")
    list_filter = ("status", "severity")
    search_fields = ("title", "summary")
    list_select_related = ("severity", "commander")
    date_hierarchy = "declared_at"
    raw_id_fields = ("commander", "communications_lead", "scribe", "declared_by", "acknowledged_by")
    readonly_fields = ("revision", "updated_at")


@admin.register(ChecklistItem)
class ChecklistItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read only: an item is a pinned copy of a runbook version (its commands are what runs), and its state
    changes only on the incident page, where each change goes on the timeline."""

    list_display = ("pk", "incident", "order", "phase", "label", "state", "changed_by", "changed_at")
    list_filter = ("state", "phase")
    search_fields = ("text", "heading", "incident__title")
    list_select_related = ("incident", "changed_by")


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The timeline is append-only: admins read it, nobody edits it."""

    list_display = ("at", "incident", "kind", "actor", "source", "message")
    list_filter = ("kind", "source")
    search_fields = ("message", "incident__title")
    list_select_related = ("incident", "actor")


# --- command runs (execution targets and a read-only record of runs) -----------------------------


ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


@admin.register(ExecutionTarget)
class ExecutionTargetAdmin(AuditedAdminMixin, LinesAdminMixin, admin.ModelAdmin):
    list_display = ("name", "queue", "is_default", "timeout_seconds", "output_cap_bytes", "worker_isolation")
    list_filter = ("queue", "is_default")
    search_fields = ("name", "queue")
    readonly_fields = ("worker_said", "refused_options")
    lines_fields = {
        "allowed_programs": {"pattern": r"[\w.+-]+", "what": "a program name (e.g. kubectl)",
                             "help_text": "Programs commands here may start, e.g. kubectl, psql, curl."},
        "env_passthrough": {"pattern": ENV_NAME, "what": "a variable name (letters, digits, _)"},
        "secret_parameters": {"pattern": ENV_NAME, "what": "a parameter name (letters, digits, _)"},
    }
    pairs_fields = {"environment": {"key_pattern": ENV_NAME, "what": "a variable name (letters, digits, _)"}}
    fieldsets = (
        (None, {"fields": ("name", "queue", "is_default")}),
        ("How its worker runs commands", {"fields": ("worker_said",)}),
        ("What may run", {"fields": ("allowed_programs", "timeout_seconds", "output_cap_bytes",
                                     "refused_options")}),
        ("Environment (never secrets: name the worker's variables instead)",
         {"fields": ("environment", "env_passthrough", "secret_parameters", "sql_dsn_env")}),
    )

    @admin.display(description="isolation")
    def worker_isolation(self, target: ExecutionTarget) -> str:
        report = target.worker_report or {}
        if not report:
            return "not reported yet"
        if report.get("refused"):
            return "refuses to run commands"
        return "separate user" + (", sandbox" if report.get("sandbox") else "") if report.get("separate_user") \
            else "SAME USER as the worker"

    @admin.display(description="What its worker said")
    def worker_said(self, target: ExecutionTarget):
        report = target.worker_report or {}
        if not report:
            return "No worker has run a command on this target yet; its first run will say how it runs them."
        warn = report.get("refused") or not report.get("separate_user")
        return format_html('<p class="{}">The worker on {} (at {}) {}.</p>',
                           "errornote" if warn else "help", report.get("host", "?"), report.get("at", "?"),
                           report.get("summary", ""))

    @admin.display(description="Refused even for allowed programs")
    def refused_options(self, target: ExecutionTarget):
        from incidents.execution.programs import CODE_VARIABLES, rules_for

        rules = rules_for(target.allowed_programs or []) if target.pk else []
        rows = format_html_join("", "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                                ((r.program, r.refuses, r.reason) for r in rules))
        variables = ", ".join(sorted(CODE_VARIABLES))
        return format_html(
            '<table class="refusals"><thead><tr><th>program</th><th>refused</th><th>why</th></tr></thead>'
            "<tbody>{}</tbody></table><p class=\"help\">No command may set these variables (they make programs "
            "load code or configuration): {}. The whole table is in SECURITY.md.</p>",
            rows or format_html('<tr><td colspan="3">{}</td></tr>', "No allowed program here has refused options."),
            variables)


@admin.register(CommandRun)
class CommandRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The record of what ran: readable by admins, changed only by the console itself."""

    list_display = ("pk", "incident", "state", "short_script", "target", "requested_by", "approved_by",
                    "created_at", "worker_host")
    list_filter = ("state", "target", "destructive")
    search_fields = ("script", "incident__title", "worker_host")
    list_select_related = ("incident", "target", "requested_by", "approved_by")
    date_hierarchy = "created_at"

    @admin.display(description="script")
    def short_script(self, run: CommandRun) -> str:
        return run.script[:80]


# --- alerts in: integrations and the inbox (incidents/admin_alerts.py); postmortems: the policy admins set,
# postmortems and action items (incidents/admin_postmortem.py) ------------------------------------------------
from . import admin_alerts, admin_postmortem  # noqa: E402, F401
