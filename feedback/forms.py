"""Forms take input only; the rules are in services."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from feedback.models import CAUSE_EXPLANATIONS, CauseCategory, FollowUpOutcome
from helpdesk.forms import DayInput
from helpdesk.models import User

CSAT_CHOICES = [
    (5, _("5 · Very happy")),
    (4, _("4 · Happy")),
    (3, _("3 · Neutral")),
    (2, _("2 · Unhappy")),
    (1, _("1 · Very unhappy")),
]


class SurveyForm(forms.Form):
    """Range checks happen here for the customer's page and again in the service for every other caller."""

    csat = forms.TypedChoiceField(
        choices=CSAT_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        label=_("How satisfied are you with how we handled your request?"),
        error_messages={
            "required": _("Choose a score from 1 (very unhappy) to 5 (very happy)."),
            "invalid_choice": _("Choose a score from 1 (very unhappy) to 5 (very happy)."),
        },
    )
    fixed = forms.TypedChoiceField(
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label=_("Did we fix it?"),
        error_messages={
            "required": _("Tell us whether the problem was fixed: yes or no."),
            "invalid_choice": _("Tell us whether the problem was fixed: yes or no."),
        },
    )
    explain_count = forms.IntegerField(
        min_value=1,
        max_value=20,
        label=_("How many times did you have to explain the problem?"),
        help_text=_("Count every time you described it again: on the phone, by email or to a new person."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": 20}),
        error_messages={
            "required": _("Enter how many times you explained the problem, from 1 to 20."),
            "invalid": _("Enter how many times you explained the problem, from 1 to 20."),
            "min_value": _("Enter how many times you explained the problem, from 1 to 20."),
            "max_value": _("Enter how many times you explained the problem, from 1 to 20."),
        },
    )
    nps = forms.TypedChoiceField(
        choices=[(str(n), str(n)) for n in range(11)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        label=_("How likely are you to recommend us to a colleague? (optional)"),
        help_text=_("0 = not at all likely, 10 = extremely likely."),
        error_messages={"invalid_choice": _("Choose a score from 0 to 10, or leave it blank.")},
    )
    comment = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Anything else you would like to tell us? (optional)"),
        error_messages={"max_length": _("Please keep the comment under 4,000 characters.")},
    )


class ResolutionSummaryForm(forms.Form):
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Resolution summary"),
        help_text=_("What was wrong and what was done. The customer is sent this text."),
    )


class RcaForm(forms.Form):
    cause_category = forms.ChoiceField(
        choices=[
            (value, format_lazy("{}: {}", label, CAUSE_EXPLANATIONS[value])) for value, label in CauseCategory.choices
        ],
        widget=forms.RadioSelect,
        label=_("Cause category"),
    )
    preventable = forms.TypedChoiceField(
        choices=[("yes", _("Yes, we could have prevented it")), ("no", _("No, it was not preventable"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label=_("Was it preventable?"),
    )
    five_whys = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        label=_("Five whys"),
        help_text=_("Why did it happen? Then why did that happen? One answer per line, until you reach the root."),
    )
    close_ticket = forms.BooleanField(required=False, initial=True, label=_("Close the ticket after saving the RCA"))


class CorrectiveActionForm(forms.Form):
    description = forms.CharField(max_length=300, required=False, label=_("Action"))
    owner = forms.ModelChoiceField(
        queryset=User.objects.exclude(role="customer").filter(is_active=True),
        required=False,
        label=_("Owner"),
        empty_label=_("Choose an owner"),
    )
    due_date = forms.DateField(required=False, label=_("Due date"), widget=DayInput())

    def has_content(self) -> bool:
        data = self.cleaned_data
        return bool(data.get("description") or data.get("owner") or data.get("due_date"))


CorrectiveActionFormSet = forms.formset_factory(CorrectiveActionForm, extra=3, max_num=10)


class RcaReviewForm(forms.Form):
    cause_category = forms.ChoiceField(choices=CauseCategory.choices, label=_("Cause category"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Review note"))


class FollowUpCompleteForm(forms.Form):
    outcome = forms.ChoiceField(choices=FollowUpOutcome.choices, label=_("Outcome"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note"))
