"""Forms for the call panel and for keeping a callback."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from escalations.models import CallDirection, CallOutcome, EscalationType
from helpdesk.forms import DayTimeInput


class CallForm(forms.Form):
    direction = forms.ChoiceField(choices=CallDirection.choices, initial=CallDirection.INBOUND, label=_("Direction"))
    number = forms.CharField(required=False, max_length=40, label=_("Number"))
    started_at = forms.DateTimeField(widget=forms.HiddenInput)
    duration_seconds = forms.IntegerField(
        required=False, min_value=0, label=_("Duration (seconds)"), help_text=_("Left empty: counted from the start.")
    )
    notes = forms.CharField(
        label=_("Quick notes"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "The problem…\nTried: …\nWants: …\nMood: frustrated"}),
        help_text=_('Lines starting "Tried:", "Wants:", "Mood:" or "Why:" fill those parts of the dossier.'),
    )
    escalation_type = forms.ChoiceField(
        required=False, choices=[("", _("Choose…")), *EscalationType.choices], label=_("Escalation type (playbook)")
    )
    outcome = forms.ChoiceField(required=False, choices=[("", _("Choose…")), *CallOutcome.choices], label=_("Outcome"))
    callback_start = forms.DateTimeField(
        required=False,
        label=_("Call back from (customer's time)"),
        widget=DayTimeInput(),
    )
    callback_minutes = forms.IntegerField(
        required=False, min_value=5, max_value=480, initial=60, label=_("Window (min)")
    )


class CallbackCompleteForm(forms.Form):
    number = forms.CharField(required=False, max_length=40, label=_("Number called"))
    outcome = forms.ChoiceField(choices=[("", _("Choose…")), *CallOutcome.choices], label=_("Outcome"))
    summary = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 2}))
    duration_seconds = forms.IntegerField(required=False, min_value=0, initial=0, label=_("Duration (seconds)"))
