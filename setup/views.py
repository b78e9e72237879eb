"""/setup/ (admins): what is configured and what is missing; the test message; the guides (everyone).

GET  /setup/                  every area's state, facts and next step, and the test message form
POST /setup/test-message/     send a test email to me and/or a test chat post to a contact's webhook, now,
                              through incidents/notify.py; the answer (or the sender's reason) is a message
GET  /setup/guide/<name>/     a docs/ page, rendered
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from incidents import notify
from runbooks.models import Contact

from . import guides, state

ADMIN_PERMISSIONS = ("runbooks.add_runbook", "runbooks.change_runbook")


def is_setup_admin(user) -> bool:
    """An admin: may use the Django admin (staff) and change the knowledge base (the Admin role)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perms(ADMIN_PERMISSIONS))


def admin_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_setup_admin(request.user):
            raise PermissionDenied("The setup page is for admins.")
        return view(request, *args, **kwargs)

    return wrapped


class TestMessageForm(forms.Form):
    to_me = forms.BooleanField(required=False, label="Email me")
    contact = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Post to chat")

    def __init__(self, *args, user, contacts: list[Contact], **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.contacts = user, {c.pk: c for c in contacts}
        self.fields["contact"].choices = [("", "— no chat post —")] + [
            (c.pk, f"{c.name} ({c.get_kind_display().lower()})") for c in contacts]
        self.fields["to_me"].label = f"Email me at {user.email}" if user.email else "Email me"

    def clean(self):
        data = super().clean()
        if not data.get("to_me") and not data.get("contact"):
            raise forms.ValidationError("Choose where to send the test message: your email, a chat contact, or both.")
        if data.get("to_me") and not self.user.email:
            self.add_error("to_me", "Your account has no email address: add one to your user in the admin, "
                                    "or choose a chat contact.")
        return data


def _text(request) -> str:
    who = request.user.get_full_name() or request.user.get_username()
    return (f"Test message from Incident Console, sent by {who} from the setup page. If you can read this, "
            f"pages reach you here. The console is at {settings.CONSOLE_URL}.")


@require_GET
@admin_required
def setup_page(request):
    contacts = state.chat_contacts()
    return _page(request, TestMessageForm(user=request.user, contacts=contacts, initial={"to_me": True}))


def _page(request, form, status: int = 200):
    areas = state.gather(request.user)
    counts = {key: sum(area.state == key for area in areas) for key in state.STATE_LABELS}
    needed = [area for area in areas if area.state in (state.MISSING, state.ATTENTION)]
    return render(request, "setup/page.html", {
        "areas": areas, "counts": counts, "total": len(areas), "needed": needed, "form": form,
        "guides": guides.GUIDES,
    }, status=status)


@admin_required  # before the method: a GET from someone who may not post is a 403, not a 405
@require_POST
def test_message(request):
    contacts = state.chat_contacts()
    form = TestMessageForm(request.POST, user=request.user, contacts=contacts)
    if not form.is_valid():
        return _page(request, form, status=400)
    text = _text(request)
    if form.cleaned_data["to_me"]:
        try:
            notify.send_email([request.user.email], "Test message from Incident Console", text)
        except notify.NotifyError as exc:
            messages.error(request, f"The test email to {request.user.email} did not go out: {exc}.")
        else:
            local = state.CONSOLE_BACKENDS.get(settings.EMAIL_BACKEND)
            where = f"it was not sent: the email backend {local}" if local else \
                f"through {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
            messages.success(request, f"Test email to {request.user.email} handed over ({where}).")
    contact = form.contacts.get(form.cleaned_data["contact"]) if form.cleaned_data["contact"] else None
    if contact is not None:
        try:
            notify.post_chat(contact.webhook_url, {"text": notify.slack_escape(text)})
        except notify.NotifyError as exc:
            messages.error(request, f"The test post to {contact.name} did not go through: {exc}.")
        else:
            messages.success(request, f"Test message posted to {contact.name} ({contact.webhook_masked}).")
    return redirect(reverse("setup:page") + "#test-message")


@require_GET
def guide_page(request, name: str):
    found = guides.guide(name)
    if found is None:
        raise Http404("No such guide.")
    return render(request, "setup/guide.html", {
        "guide": found, "html": guides.render(found), "guides": guides.GUIDES,
        "is_admin": is_setup_admin(request.user),
    })
