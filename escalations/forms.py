"""Forms take input only; the rules live in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from escalations.models import Currency, EscalationType
from escalations.selectors import AGE_FILTERS
from helpdesk.forms import DayTimeInput
from helpdesk.models import Team, Tier

MOOD_CHOICES = [
    ("", "Choose…"),
    ("calm", "Calm"),
    ("confused", "Confused"),
    ("worried", "Worried"),
    ("frustrated", "Frustrated"),
    ("angry", "Angry"),
    ("unknown", "Not sure"),
]

TYPE_HELP: dict[str, str] = {
    EscalationType.TECHNICAL: "A technical problem tier 1 cannot diagnose or fix.",
    EscalationType.MANAGERIAL: "The customer needs someone with more authority.",
    EscalationType.SUPPORT_LEVEL: "It simply needs a more senior support tier.",
    EscalationType.EMERGENCY: "Business stopped or safety at risk: pages every manager now.",
    EscalationType.PROCESS: "Our process failed the customer and must be put right.",
    EscalationType.FINANCIAL: "A refund, credit or goodwill payment is needed.",
    EscalationType.COMPLIANCE: "Legal, privacy or regulatory: restricts the ticket from now on.",
    EscalationType.THIRD_PARTY: "A vendor or partner must act: the ticket waits on them.",
}


class EscalateForm(forms.Form):
    escalation_type = forms.ChoiceField(choices=EscalationType.choices, widget=forms.RadioSelect, label="Type")
    mode = forms.ChoiceField(
        choices=[("functional", "Functional: to more skill"), ("hierarchical", "Hierarchical: to more authority")],
        widget=forms.RadioSelect,
        initial="functional",
        label="Direction",
    )
    reason = forms.CharField(label="Why escalate?", widget=forms.Textarea(attrs={"rows": 2}))
    dossier_problem = forms.CharField(label="The problem", widget=forms.Textarea(attrs={"rows": 3}))
    dossier_tried = forms.CharField(label="Steps already tried", widget=forms.Textarea(attrs={"rows": 3}))
    dossier_desired_outcome = forms.CharField(
        label="What the customer wants to happen next", widget=forms.Textarea(attrs={"rows": 2})
    )
    dossier_mood = forms.ChoiceField(choices=MOOD_CHOICES, label="The customer's mood")
    caller_waiting = forms.BooleanField(required=False, label="The customer is waiting on the line")
    compensation_amount = forms.DecimalField(
        required=False, min_value=0.01, decimal_places=2, max_digits=10, label="Compensation amount"
    )
    compensation_currency = forms.ChoiceField(choices=Currency.choices, initial=Currency.GBP, label="Currency")
    compensation_reason = forms.CharField(
        required=False, label="Why compensate?", widget=forms.Textarea(attrs={"rows": 2})
    )
    vendor_name = forms.CharField(required=False, max_length=160, label="Vendor")
    vendor_reference = forms.CharField(required=False, max_length=120, label="Vendor's reference")
    vendor_contact = forms.CharField(required=False, max_length=200, label="Vendor contact")
    vendor_follow_up_at = forms.DateTimeField(
        required=False,
        label="Chase the vendor on",
        widget=DayTimeInput(),
    )


class GuidanceForm(forms.Form):
    guidance = forms.CharField(
        label="Guidance for the sender",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What they can do themselves next time. The escalation counts as avoidable.",
    )


class FurtherForm(forms.Form):
    reason = forms.CharField(label="Why does this need tier 3?", widget=forms.Textarea(attrs={"rows": 2}))
    dossier_tried = forms.CharField(
        required=False, label="What you tried (added to the dossier)", widget=forms.Textarea(attrs={"rows": 2})
    )
    compensation_amount = forms.DecimalField(
        required=False, min_value=0.01, decimal_places=2, max_digits=10, label="Compensation to propose (optional)"
    )
    compensation_currency = forms.ChoiceField(choices=Currency.choices, initial=Currency.GBP, label="Currency")
    compensation_reason = forms.CharField(
        required=False, label="Why compensate?", widget=forms.Textarea(attrs={"rows": 2})
    )


class ResolveForm(forms.Form):
    summary = forms.CharField(
        label="Resolution summary",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The customer reads this: say what was done in plain words.",
    )


class ReassignForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.filter(tier__gte=2), label="Reassign to")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    note = forms.CharField(required=False, label="Note", widget=forms.Textarea(attrs={"rows": 2}))


class ManagerRequestForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why would you like a manager to look at this?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )


class ReviewFilterForm(forms.Form):
    type = forms.ChoiceField(choices=[("", "Any type"), *EscalationType.choices], required=False, label="Type")
    tier = forms.ChoiceField(
        choices=[("", "Any tier"), *[(str(value), label) for value, label in Tier.choices]], required=False
    )
    age = forms.ChoiceField(choices=[("", "Any age"), *[(k, v[0]) for k, v in AGE_FILTERS.items()]], required=False)
    breach = forms.ChoiceField(
        choices=[
            ("", "Any SLA state"),
            ("breached", "SLA breached"),
            ("unacknowledged", "Not accepted in time"),
            ("ok", "Within SLA"),
        ],
        required=False,
        label="Breach",
    )
    q = forms.CharField(required=False, label="Search")


# Quick notes (a call's, or anything typed before escalating) pre-fill the escalate form's dossier.
_NOTE_PREFIXES = {
    "tried": "dossier_tried",
    "wants": "dossier_desired_outcome",
    "want": "dossier_desired_outcome",
    "mood": "dossier_mood",
    "why": "reason",
    "reason": "reason",
}


def dossier_from_notes(notes: str) -> dict[str, str]:
    """Pre-fill the escalation dossier from quick call notes: lines starting "Tried:", "Wants:", "Mood:" or "Why:"
    go to those fields, every other line to the problem."""
    fields: dict[str, list[str]] = {}
    for raw in (notes or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        head, sep, rest = line.partition(":")
        target = _NOTE_PREFIXES.get(head.strip().lower()) if sep else None
        fields.setdefault(target or "dossier_problem", []).append(rest.strip() if target else line)
    result = {name: "\n".join(lines) for name, lines in fields.items()}
    if "dossier_mood" in result:
        result["dossier_mood"] = result["dossier_mood"].split()[0].lower() if result["dossier_mood"] else ""
    return result
