from django import forms

from privacy.models import RequestKind


class DataRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=RequestKind.choices, label="Request")
    reason = forms.CharField(
        label="Reason or reference",
        required=False,
        max_length=500,
        widget=forms.TextInput,
        help_text="E.g. the customer's request reference. Do not copy personal data here.",
    )
    escalation = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    note = forms.CharField(label="Note", required=False, max_length=500)
