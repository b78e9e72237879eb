"""Forms of the postmortem page, milestones and action items: each says plainly what is wrong."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from runbooks.models import Runbook

from .models import ActionItem
from .models.milestones import BY_KEY
from .models.postmortem import MAX_SECTION

MILESTONE_CHOICES = [(m.key, m.label) for m in BY_KEY.values() if m.editable]


class SectionForm(forms.Form):
    text = forms.CharField(required=False, max_length=MAX_SECTION, strip=False, widget=forms.Textarea,
                           error_messages={"max_length": f"Keep a section under {MAX_SECTION:,} characters."})
    version = forms.IntegerField(min_value=1, error_messages={
        "required": "The form is missing the section's version; reload the page.",
        "invalid": "The section's version is not a number; reload the page."})
    overwrite = forms.IntegerField(required=False, min_value=1)


class MilestoneForm(forms.Form):
    milestone = forms.ChoiceField(choices=MILESTONE_CHOICES,
                                  error_messages={"invalid_choice": "That milestone cannot be changed."})
    at = forms.DateTimeField(
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"required": "Give the new time.",
                        "invalid": "Give the time as a date and time, e.g. 2026-12-01 09:30."})
    reason = forms.CharField(max_length=500, error_messages={
        "required": "Say why the time is being changed.", "max_length": "Keep the reason under 500 characters."})


class WaiverForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}), error_messages={
        "required": "Say why this incident needs no postmortem.",
        "max_length": "Keep the reason under 1,000 characters."})


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ActionItemForm(forms.Form):
    description = forms.CharField(max_length=500, widget=forms.TextInput(attrs={
        "placeholder": "e.g. Add a queue-depth alert at 10,000 messages"}), error_messages={
        "required": "Describe what is to be done.", "max_length": "Keep the description under 500 characters."})
    owner = OwnerField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        error_messages={"required": "Give the item an owner.",
                        "invalid_choice": "That owner is not a user of the console; choose one from the list.",
                        "invalid_pk_value": "That owner is not a user of the console; choose one from the list."})
    due_date = forms.DateField(required=False, input_formats=["%Y-%m-%d"],
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), error_messages={
        "invalid": "Give the due date as a date, e.g. 2026-12-24."})
    priority = forms.TypedChoiceField(choices=ActionItem.Priority.choices, coerce=int,
                                      initial=ActionItem.Priority.MEDIUM,
                                      error_messages={"invalid_choice": "Choose high, medium or low priority."})
    runbook = forms.ModelChoiceField(queryset=Runbook.objects.all(), required=False, empty_label="— none —",
                                     error_messages={"invalid_choice": "That runbook does not exist."})

    def __init__(self, *args, runbooks=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if runbooks is not None:
            self.fields["runbook"].queryset = runbooks


ITEM_ACTIONS = ("done", "not_doing", "reopen", "runbook")


class ItemActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ITEM_ACTIONS],
                               error_messages={"invalid_choice": "Choose done, not doing or reopen.",
                                               "required": "Choose done, not doing or reopen."})
    reason = forms.CharField(required=False, max_length=500,
                             error_messages={"max_length": "Keep the reason under 500 characters."})
