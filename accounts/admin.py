"""Admin for API tokens: made here or with `manage.py create_api_token`; the token is shown once, on creation."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "hint")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("hint", "created_at", "last_used_at")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ("user", "name") if obj is None else ("user", "name", "hint", "created_at", "last_used_at",
                                                     "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("user", "hint", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        token = obj.set_new_token() if not change else None
        super().save_model(request, obj, form, change)
        if token:
            messages.warning(request, f"The token for “{obj.name}” is {token} — copy it now: it is not stored "
                                      "and will not be shown again.")

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked {count} token(s).")
