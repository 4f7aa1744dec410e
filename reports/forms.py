"""Forms take input only; the rules are in services."""

from __future__ import annotations

from django import forms

from reports.selectors import coachable_staff


class CoachingSessionForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=coachable_staff(), label="Agent")
    held_on = forms.DateField(label="Held on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    notes = forms.CharField(label="What was discussed and agreed", widget=forms.Textarea(attrs={"rows": 4}))
