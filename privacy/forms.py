from django import forms
from django.utils.translation import gettext_lazy as _

from privacy.models import RequestKind


class DataRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=RequestKind.choices, label=_("Request"))
    reason = forms.CharField(
        label=_("Reason or reference"),
        required=False,
        max_length=500,
        widget=forms.TextInput,
        help_text=_("E.g. the customer's request reference. Do not copy personal data here."),
    )
    escalation = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
