"""Forms take input only; the rules are in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from escalations.models import BusinessCalendar, SLAPolicy
from helpdesk.forms import DayInput
from reports.selectors import coachable_staff


class CoachingSessionForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=coachable_staff(), label=_("Agent"))
    held_on = forms.DateField(label=_("Held on"), widget=DayInput())
    notes = forms.CharField(label=_("What was discussed and agreed"), widget=forms.Textarea(attrs={"rows": 4}))


class SLASimulatorForm(forms.Form):
    """A draft (one policy's new values, or one calendar replaced by another) and a past period."""

    policy: forms.ModelChoiceField[SLAPolicy] = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Policy to change")
    )
    first_response_minutes = forms.IntegerField(required=False, min_value=0, label=_("First response (minutes)"))
    next_response_minutes = forms.IntegerField(required=False, min_value=0, label=_("Next response (minutes)"))
    resolution_minutes = forms.IntegerField(required=False, min_value=0, label=_("Resolution (minutes)"))
    warn_percent = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100,
        # xgettext:no-python-format
        label=_("Warn at (% of the target)"),
    )
    replace_calendar: forms.ModelChoiceField[BusinessCalendar] = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Or: replace this calendar in every policy")
    )
    calendar: forms.ModelChoiceField[BusinessCalendar] = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Calendar to use")
    )
    start = forms.DateField(label=_("From"), widget=DayInput())
    end = forms.DateField(label=_("To (inclusive)"), widget=DayInput())
    confirm = forms.BooleanField(
        required=False, label=_("I have read the simulation: apply this draft to the live policy")
    )

    def __init__(self, *args, **kwargs):
        from escalations.models import BusinessCalendar, SLAPolicy

        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = SLAPolicy.objects.filter(is_active=True).select_related("plan", "calendar")
        self.fields["replace_calendar"].queryset = BusinessCalendar.objects.all()
        self.fields["calendar"].queryset = BusinessCalendar.objects.all()

    def clean(self):
        data = super().clean()
        if data.get("replace_calendar") is not None:
            if data.get("calendar") is None:
                self.add_error("calendar", _("Choose the calendar to use instead."))
        elif data.get("policy") is None:
            self.add_error("policy", _("Choose a policy to change, or a calendar to replace."))
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("The period ends before it starts."))
        return data

    def draft(self):
        from reports.simulator import Draft

        data = self.cleaned_data
        calendar = data.get("calendar")
        if data.get("replace_calendar") is not None:
            return Draft(replace_calendar_id=data["replace_calendar"].pk, calendar_id=calendar.pk)
        return Draft(
            policy_id=data["policy"].pk,
            first_response_minutes=data.get("first_response_minutes"),
            next_response_minutes=data.get("next_response_minutes"),
            resolution_minutes=data.get("resolution_minutes"),
            warn_percent=data.get("warn_percent"),
            calendar_id=calendar.pk if calendar is not None else None,
        )
