"""Admin for whom the organisation calls: people, teams, channels, services, rotations and escalation policies.

A webhook URL is write-only here: the form never shows the stored value (the list shows its host), an empty box
keeps it, and a URL that is not http(s) or points at a metadata, link-local or loopback address is refused. A
policy that cannot run (no tiers, a loop through `continue with`, a target the console has no way to page) is
refused with the reasons, and nothing of it is saved.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from accounts.adminfields import LabelledTabularInline, LinesAdminMixin
from accounts.audit import AuditedAdminMixin
from runbooks.models import (
    Channel,
    Contact,
    EscalationPolicy,
    EscalationTier,
    Person,
    Rotation,
    RotationMember,
    RotationOverride,
    Service,
    Team,
    policy_problems,
    tier_spec,
)
from runbooks.secrets import UNREADABLE
from runbooks.webhooks import UnsafeWebhook, check_webhook_url


class ContactForm(forms.ModelForm):
    chat_url = forms.URLField(
        label="Chat link", required=False, max_length=500, assume_scheme="https",
        help_text="A link that opens a chat with them or the channel (not the webhook)")
    new_webhook_url = forms.CharField(
        label="Webhook URL", required=False, max_length=2000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "size": 60}),
        help_text="A Slack-compatible incoming webhook (https://…). Stored encrypted and never shown again; "
                  "leave empty to keep the current one.",
    )
    clear_webhook_url = forms.BooleanField(label="Remove the webhook URL", required=False)

    class Meta:
        model = Contact
        exclude = ("webhook_url",)

    def clean(self):
        data = super().clean()
        url = (data.get("new_webhook_url") or "").strip()
        if url:
            try:
                check_webhook_url(url)
            except UnsafeWebhook as exc:
                self.add_error("new_webhook_url", str(exc))
        elif self.instance.webhook_url == UNREADABLE and not data.get("clear_webhook_url"):
            self.add_error("new_webhook_url", "The stored webhook URL cannot be read with the current SECRET_KEY: "
                                              "enter it again, or tick “Remove the webhook URL”.")
        return data

    def save(self, commit=True):
        url = (self.cleaned_data.get("new_webhook_url") or "").strip()
        if url:
            self.instance.webhook_url = url
        elif self.cleaned_data.get("clear_webhook_url"):
            self.instance.webhook_url = ""
        return super().save(commit)


@admin.display(description="Webhook")
def webhook_column(obj: Contact) -> str:
    return obj.webhook_masked or "—"


@admin.display(description="Can be paged")
def pageable_column(obj: Contact) -> str:
    reason = obj.unreachable_reason()
    return "yes" if not reason else f"no: {reason}"


class _ContactAdmin(admin.ModelAdmin):
    form = ContactForm
    search_fields = ("name", "role", "email", "handle", "channel")
    readonly_fields = ("current_webhook",)

    @admin.display(description="Current webhook")
    def current_webhook(self, obj: Contact) -> str:
        return obj.webhook_masked or "none"


@admin.register(Contact)
class ContactAdmin(_ContactAdmin):
    """Every contact, whatever kind (the documents we import do not always say)."""

    list_display = ("name", "kind", "role", "email", "phone", "handle", "channel", webhook_column)
    list_filter = ("kind",)
    autocomplete_fields = ("user", "members")
    fields = ("name", "kind", "role", "email", "phone", "handle", "channel", "via", "chat_url", "current_webhook",
              "new_webhook_url", "clear_webhook_url", "members", "user")


@admin.register(Person)
class PersonAdmin(_ContactAdmin):
    list_display = ("name", "role", "email", "phone", "handle", "user", pageable_column)
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    fields = ("name", "role", "email", "phone", "handle", "chat_url", "via", "user")


@admin.register(Team)
class TeamAdmin(_ContactAdmin):
    list_display = ("name", "email", "channel", webhook_column, pageable_column)
    autocomplete_fields = ("members",)
    fields = ("name", "role", "email", "channel", "chat_url", "current_webhook", "new_webhook_url",
              "clear_webhook_url", "members")


@admin.register(Channel)
class ChannelAdmin(_ContactAdmin):
    list_display = ("name", "role", webhook_column, pageable_column)
    fields = ("name", "role", "channel", "chat_url", "current_webhook", "new_webhook_url", "clear_webhook_url")


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "owner")
    list_select_related = ("owner",)
    search_fields = ("name", "description")
    autocomplete_fields = ("owner", "contacts")


# --- rotations ------------------------------------------------------------------------------------------

class RotationMemberInline(LabelledTabularInline):
    model = RotationMember
    fields = ("position", "person")
    autocomplete_fields = ("person",)
    extra = 0


class RotationOverrideInline(LabelledTabularInline):
    model = RotationOverride
    fields = ("person", "starts_at", "ends_at", "reason")
    autocomplete_fields = ("person",)
    extra = 0


@admin.register(Rotation)
class RotationAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "length", "handoff_at", "on_call_now")
    list_select_related = ("team",)
    search_fields = ("name",)
    autocomplete_fields = ("team",)
    inlines = [RotationMemberInline, RotationOverrideInline]

    @admin.display(description="On call now")
    def on_call_now(self, obj: Rotation) -> str:
        shift = obj.shift_at(timezone.now())
        if shift.person is None:
            return "nobody (no members)"
        return f"{shift.person.name} until {timezone.localtime(shift.ends_at):%a %d %b %H:%M}"


# --- escalation policies --------------------------------------------------------------------------------

class TierFormSet(BaseInlineFormSet):
    """Checks the whole policy (its tiers with the policy's own fields) before anything is saved."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        tiers = []
        for form in sorted(self.forms, key=lambda f: (f.cleaned_data.get("order") or 0) if f.cleaned_data else 0):
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            names = data.get("notify_names") if isinstance(data.get("notify_names"), list) else []
            tiers.append(tier_spec(data.get("delay_minutes"), data.get("contacts") or [],
                                   data.get("rotations") or [], names))
        policy = self.instance
        problems = policy_problems(tiers, repeat=policy.repeat or 0, name=policy.name or "This policy",
                                   continue_with=policy.continue_with, pk=policy.pk)
        if problems:
            raise ValidationError(problems)


class EscalationTierInline(LinesAdminMixin, LabelledTabularInline):
    model = EscalationTier
    formset = TierFormSet
    fields = ("order", "contacts", "rotations", "delay_minutes", "notify_names", "action")
    lines_fields = {"notify_names": {"help_text": "Names as the source document gave them."}}
    autocomplete_fields = ("contacts", "rotations")
    extra = 0


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "severity", "service", "repeat", "tier_count", "source")
    list_select_related = ("severity", "service", "source")
    search_fields = ("name",)
    autocomplete_fields = ("continue_with",)
    fields = ("name", "severity", "service", "repeat", "continue_with", "description", "imported_from")
    readonly_fields = ("imported_from",)
    inlines = [EscalationTierInline]

    @admin.display(description="Tiers")
    def tier_count(self, obj: EscalationPolicy) -> int:
        return obj.tiers.count()

    @admin.display(description="Imported from")
    def imported_from(self, obj: EscalationPolicy) -> str:
        if not obj.source_id:
            return "—"
        return f"{obj.source}" + (" (changed here since: a re-import keeps these changes)" if obj.edited else "")

    def save_model(self, request, obj, form, change):
        if obj.source_id:
            obj.edited = True
        super().save_model(request, obj, form, change)
