"""Forms of the incident pages; each validates what a person typed and says plainly what is wrong."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from runbooks.models import Runbook, Service, SeverityLevel

from .models import ROLES, Status

MAX_SYMPTOMS = 10_000


class DeclareForm(forms.Form):
    # Optional: left empty, the title is made from the alert name or the first line of the symptoms.
    title = forms.CharField(
        max_length=200, required=False, error_messages={"max_length": "Keep the title under 200 characters."})
    severity = forms.ModelChoiceField(
        queryset=SeverityLevel.objects.all(), empty_label=None, widget=forms.RadioSelect,
        error_messages={"required": "Choose a severity.",
                        "invalid_choice": "That severity is not in the matrix; choose one of the listed levels."})
    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False,
                                     error_messages={"invalid_choice": "That service does not exist."})
    symptoms = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6}), max_length=MAX_SYMPTOMS,
        error_messages={"max_length": "Keep the symptoms under 10,000 characters; paste the most telling part."})
    runbooks = forms.ModelMultipleChoiceField(
        queryset=Runbook.objects.all(), required=False,
        error_messages={"invalid_choice": "One of the runbooks no longer exists.",
                        "invalid_pk_value": "One of the runbooks no longer exists."})

    def clean_title(self) -> str:
        from .titles import title_problem

        title = self.cleaned_data["title"]
        if problem := title_problem(title):
            raise forms.ValidationError(problem)
        return title

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("title") or "").strip() and not (cleaned.get("symptoms") or "").strip() \
                and "title" not in self.errors and "symptoms" not in self.errors:
            self.add_error("symptoms", "Paste the error or alert, or say what you see (or give a title).")
        return cleaned


class RevisionForm(forms.Form):
    """A change made from a page that showed a given revision of the incident."""

    revision = forms.IntegerField(min_value=1, error_messages={"required": "The form is missing its revision; reload."})


class TransitionForm(RevisionForm):
    to = forms.ChoiceField(choices=Status.choices, error_messages={"invalid_choice": "That is not a status."})
    note = forms.CharField(required=False, max_length=500,
                           error_messages={"max_length": "Keep the summary under 500 characters."})

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("to") == Status.RESOLVED and not (cleaned.get("note") or "").strip():
            self.add_error("note", "Say in a line what resolved it: the summary goes on the timeline.")
        return cleaned


class SeverityForm(RevisionForm):
    severity = forms.ModelChoiceField(
        queryset=SeverityLevel.objects.all(),
        error_messages={"required": "Choose a severity.", "invalid_choice": "That severity is not in the matrix."})


class RoleForm(RevisionForm):
    role = forms.ChoiceField(choices=list(ROLES.items()), error_messages={"invalid_choice": "That is not a role."})
    user = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True), required=False,
                                  error_messages={"invalid_choice": "That person does not exist."})


class AttachForm(RevisionForm):
    """Attaching only adds: a form from an older page is still right (a runbook attached twice is refused)."""

    revision = forms.IntegerField(min_value=1, required=False)
    runbook = forms.ModelChoiceField(
        queryset=Runbook.objects.all(),
        error_messages={"required": "Choose a runbook to attach.", "invalid_choice": "That runbook does not exist."})


class NoteForm(forms.Form):
    text = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": "A note needs some text.",
                                           "max_length": "Keep a note under 10,000 characters."})
    important = forms.BooleanField(required=False)


def first_error(form: forms.Form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return "Check the form."
