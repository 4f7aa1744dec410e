"""Forms for the call panel and for keeping a callback."""

from __future__ import annotations

from django import forms

from escalations.models import CallDirection, CallOutcome, EscalationType
from helpdesk.forms import DayTimeInput


class CallForm(forms.Form):
    direction = forms.ChoiceField(choices=CallDirection.choices, initial=CallDirection.INBOUND, label="Direction")
    number = forms.CharField(required=False, max_length=40, label="Number")
    started_at = forms.DateTimeField(widget=forms.HiddenInput)
    duration_seconds = forms.IntegerField(
        required=False, min_value=0, label="Duration (seconds)", help_text="Left empty: counted from the start."
    )
    notes = forms.CharField(
        label="Quick notes",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "The problem…\nTried: …\nWants: …\nMood: frustrated"}),
        help_text='Lines starting "Tried:", "Wants:", "Mood:" or "Why:" fill those parts of the dossier.',
    )
    escalation_type = forms.ChoiceField(
        required=False, choices=[("", "Choose…"), *EscalationType.choices], label="Escalation type (playbook)"
    )
    outcome = forms.ChoiceField(required=False, choices=[("", "Choose…"), *CallOutcome.choices], label="Outcome")
    callback_start = forms.DateTimeField(
        required=False,
        label="Call back from (customer's time)",
        widget=DayTimeInput(),
    )
    callback_minutes = forms.IntegerField(required=False, min_value=5, max_value=480, initial=60, label="Window (min)")


class CallbackCompleteForm(forms.Form):
    number = forms.CharField(required=False, max_length=40, label="Number called")
    outcome = forms.ChoiceField(choices=[("", "Choose…"), *CallOutcome.choices], label="Outcome")
    summary = forms.CharField(label="What happened", widget=forms.Textarea(attrs={"rows": 2}))
    duration_seconds = forms.IntegerField(required=False, min_value=0, initial=0, label="Duration (seconds)")
