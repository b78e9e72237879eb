"""Admin for alerts in: integrations (token shown once), and the inbox of deliveries with replay.

The inbox answers "why did this alert not open an incident?": every delivery is listed with its decision and
reason, searchable by fingerprint, group key, alert name or body text, and a stored delivery can be replayed
(e.g. after the severity mapping was fixed); the replay is a new line pointing at the original.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from accounts.adminfields import LinesAdminMixin
from accounts.adminkit import ReadOnlyAdminMixin
from accounts.audit import AuditedAdminMixin

from .alerts.ingest import Rejected, replay
from .models import Alert, AlertDelivery, AlertGroup, Integration


@admin.register(Integration)
class IntegrationAdmin(AuditedAdminMixin, LinesAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "token_hint", "default_severity", "default_service", "resolved_mitigates",
                    "is_active", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    readonly_fields = ("token_hint", "webhook", "created_at")
    fieldsets = (
        (None, {"fields": ("name", "kind", "is_active", "webhook", "token_hint")}),
        ("How its alerts become incidents", {"fields": (
            "severity_label", "severity_map", "default_severity", "default_service", "resolved_mitigates")}),
    )
    actions = ["new_token"]
    pairs_fields = {"severity_map": {"what": "a label value", "help_text": (
        "Label value = severity level name or alias, e.g. page = SEV1. Values not listed are looked up among "
        "the levels' names and aliases; then critical → the top level, warning → the level two below it; "
        "anything else → the default level.")}}

    @admin.display(description="webhook URL")
    def webhook(self, obj):
        return obj.webhook_url if obj.pk else "(shown once saved)"

    def save_model(self, request, obj, form, change):
        token = obj.set_new_token() if not change else None
        super().save_model(request, obj, form, change)
        if token:
            _show_token(request, obj, token)

    @admin.action(description="Give the selected integrations a new token (the old ones stop working)")
    def new_token(self, request, queryset):
        for integration in queryset:
            token = integration.set_new_token()
            integration.save(update_fields=["token_hash", "token_hint"])
            _show_token(request, integration, token)


def _show_token(request, integration: Integration, token: str) -> None:
    messages.warning(request, f"“{integration.name}” posts to {integration.webhook_url} with "
                              f"Authorization: Bearer {token} — copy the token now: it is not stored and will not "
                              "be shown again.")


class ReadOnly(ReadOnlyAdminMixin):
    """Rows the console writes and nobody edits (an admin may still delete one)."""

    deletable = True


@admin.register(AlertGroup)
class AlertGroupAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("pk", "integration", "short_key", "is_open", "incident", "opened_at", "closed_at")
    list_filter = ("is_open", "integration")
    search_fields = ("group_key",)
    list_select_related = ("integration", "incident")
    raw_id_fields = ("incident",)

    @admin.display(description="group key")
    def short_key(self, obj):
        return obj.group_key[:80]


@admin.register(Alert)
class AlertAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("pk", "name", "fingerprint", "status", "incident", "starts_at", "seen_count", "last_seen_at")
    list_filter = ("status", "integration")
    search_fields = ("fingerprint", "name", "summary")
    list_select_related = ("incident",)
    raw_id_fields = ("incident", "group")


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnly, admin.ModelAdmin):
    """The inbox."""

    list_display = ("pk", "received_at", "integration", "kind", "decision_badge", "status_code", "short_reason",
                    "incident_link", "alert_count")
    list_filter = ("decision", "kind", "integration", "status_code")
    search_fields = ("fingerprints", "group_key", "reason", "body")
    list_select_related = ("integration", "incident")
    date_hierarchy = "received_at"
    list_per_page = 50
    show_full_result_count = False  # counting a big inbox on every page is the slowest part of the list
    actions = ["replay_selected"]
    fields = ("received_at", "integration", "kind", "decision", "status_code", "reason", "incident_link",
              "outcome_table", "group_key", "fingerprints", "headers_pretty", "body_pretty", "body_truncated",
              "remote_addr", "replay_of", "replay_button")
    readonly_fields = fields

    def get_urls(self):
        return [path("<int:pk>/replay/", self.admin_site.admin_view(self.replay_view),
                     name="incidents_alertdelivery_replay"), *super().get_urls()]

    @admin.display(description="decision", ordering="decision")
    def decision_badge(self, obj):
        return format_html('<span class="delivery-decision decision-{}">{}</span>', obj.decision,
                           obj.get_decision_display())

    @admin.display(description="why")
    def short_reason(self, obj):
        return obj.reason if len(obj.reason) <= 160 else obj.reason[:159] + "…"

    @admin.display(description="incident")
    def incident_link(self, obj):
        if not obj.incident_id:
            return "—"
        return format_html('<a href="{}">#{}</a>', reverse("incidents:detail", args=[obj.incident_id]),
                           obj.incident_id)

    @admin.display(description="alerts")
    def alert_count(self, obj):
        return len(obj.fingerprints or [])

    @admin.display(description="per alert")
    def outcome_table(self, obj):
        if not obj.outcomes:
            return "—"
        rows = format_html_join("", "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (o.get("fingerprint", ""), o.get("alert", ""), o.get("status", ""), o.get("what", ""))
            for o in obj.outcomes))
        return format_html('<table class="delivery-outcomes"><thead><tr><th>fingerprint</th><th>alert</th>'
                           "<th>status</th><th>what happened</th></tr></thead><tbody>{}</tbody></table>", rows)

    @admin.display(description="headers (without the token)")
    def headers_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.headers, indent=2, ensure_ascii=False))

    @admin.display(description="body")
    def body_pretty(self, obj):
        try:
            text = json.dumps(json.loads(obj.body), indent=2, ensure_ascii=False)
        except ValueError:
            text = obj.body
        return format_html('<pre class="delivery-body">{}</pre>', text[:200_000])

    @admin.display(description="replay")
    def replay_button(self, obj):
        if not obj.can_replay:
            return "Cannot be replayed (no integration, or the body was not kept whole)."
        return "Use “Replay this delivery” above: it is processed again with today's mapping, as a new line."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Only an id can be replayed: anything else in the URL is the admin's "does not exist" (not a 500).
        replay_url = reverse("admin:incidents_alertdelivery_replay", args=[object_id]) if str(
            object_id).isdigit() and int(object_id) < 2 ** 63 else ""
        extra_context = {**(extra_context or {}), "replay_url": replay_url}
        return super().change_view(request, object_id, form_url, extra_context)

    def _replay(self, request, delivery: AlertDelivery) -> AlertDelivery | None:
        try:
            again = replay(delivery)
        except Rejected as exc:
            messages.error(request, f"#{delivery.pk}: {exc.message}")
            return None
        messages.success(request, f"#{delivery.pk} replayed as #{again.pk}: {again.get_decision_display()} — "
                                  f"{again.reason.strip()}")
        return again

    def replay_view(self, request, pk):
        return require_POST(self._replay_view)(request, pk)

    def _replay_view(self, request, pk):
        if not request.user.has_perm("incidents.add_alertdelivery") and not request.user.is_superuser:
            messages.error(request, "Replaying needs an administrator.")
            return HttpResponseRedirect(reverse("admin:incidents_alertdelivery_change", args=[pk]))
        again = self._replay(request, get_object_or_404(AlertDelivery, pk=pk))
        target = again.pk if again else pk
        return HttpResponseRedirect(reverse("admin:incidents_alertdelivery_change", args=[target]))

    @admin.action(description="Replay the selected deliveries (as new inbox lines)")
    def replay_selected(self, request, queryset):
        for delivery in queryset.order_by("received_at", "pk")[:100]:
            self._replay(request, delivery)
