"""Admin for postmortems: the policy admins set (one row), postmortems (read here, written in the console),
and action items."""

from __future__ import annotations

from django.contrib import admin

from accounts.adminfields import LinesAdminMixin
from accounts.adminkit import ReadOnlyAdminMixin
from accounts.audit import AuditedAdminMixin

from .models import ActionItem, Postmortem, PostmortemPolicy


@admin.register(PostmortemPolicy)
class PostmortemPolicyAdmin(AuditedAdminMixin, LinesAdminMixin, admin.ModelAdmin):
    """One row: which severities need a postmortem, the impact limit, action-item due days by rank."""

    filter_horizontal = ("severities",)
    lines_fields = {"due_days": {"cast": int, "pattern": r"\d{1,4}", "what": "a whole number of days",
                                 "help_text": "Days until an action item is due, by severity rank, most severe "
                                              "first (7, then 14, ...)."}}

    def has_add_permission(self, request) -> bool:
        return not PostmortemPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Postmortem)
class PostmortemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Written in the console; admins read them here (and may delete one)."""

    list_display = ("incident", "state", "generated_at", "published_by", "published_at", "waived_at")
    list_filter = ("state",)
    list_select_related = ("incident", "published_by")
    search_fields = ("incident__title",)
    deletable = True


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ("description", "incident", "owner", "due_date", "priority", "status")
    list_filter = ("status", "priority")
    search_fields = ("description", "incident__title")
    list_select_related = ("incident", "owner")
    raw_id_fields = ("incident", "owner", "runbook", "created_by", "closed_by")
