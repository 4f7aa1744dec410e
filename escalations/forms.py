"""Forms take input only; the rules live in services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from escalations.models import Currency, EscalationType
from escalations.selectors import AGE_FILTERS
from helpdesk.forms import DayTimeInput
from helpdesk.models import Team, Tier

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MOOD_CHOICES = [
    ("", _("Choose…")),
    ("calm", _("Calm")),
    ("confused", _("Confused")),
    ("worried", _("Worried")),
    ("frustrated", _("Frustrated")),
    ("angry", _("Angry")),
    ("unknown", _("Not sure")),
]

TYPE_HELP: dict[str, StrOrPromise] = {
    EscalationType.TECHNICAL: _("A technical problem tier 1 cannot diagnose or fix."),
    EscalationType.MANAGERIAL: _("The customer needs someone with more authority."),
    EscalationType.SUPPORT_LEVEL: _("It simply needs a more senior support tier."),
    EscalationType.EMERGENCY: _("Business stopped or safety at risk: pages every manager now."),
    EscalationType.PROCESS: _("Our process failed the customer and must be put right."),
    EscalationType.FINANCIAL: _("A refund, credit or goodwill payment is needed."),
    EscalationType.COMPLIANCE: _("Legal, privacy or regulatory: restricts the ticket from now on."),
    EscalationType.THIRD_PARTY: _("A vendor or partner must act: the ticket waits on them."),
}


class EscalateForm(forms.Form):
    escalation_type = forms.ChoiceField(choices=EscalationType.choices, widget=forms.RadioSelect, label=_("Type"))
    mode = forms.ChoiceField(
        choices=[
            ("functional", _("Functional: to more skill")),
            ("hierarchical", _("Hierarchical: to more authority")),
        ],
        widget=forms.RadioSelect,
        initial="functional",
        label=_("Direction"),
    )
    reason = forms.CharField(label=_("Why escalate?"), widget=forms.Textarea(attrs={"rows": 2}))
    dossier_problem = forms.CharField(label=_("The problem"), widget=forms.Textarea(attrs={"rows": 3}))
    dossier_tried = forms.CharField(label=_("Steps already tried"), widget=forms.Textarea(attrs={"rows": 3}))
    dossier_desired_outcome = forms.CharField(
        label=_("What the customer wants to happen next"), widget=forms.Textarea(attrs={"rows": 2})
    )
    dossier_mood = forms.ChoiceField(choices=MOOD_CHOICES, label=_("The customer's mood"))
    caller_waiting = forms.BooleanField(required=False, label=_("The customer is waiting on the line"))
    compensation_amount = forms.DecimalField(
        required=False, min_value=0.01, decimal_places=2, max_digits=10, label=_("Compensation amount")
    )
    compensation_currency = forms.ChoiceField(choices=Currency.choices, initial=Currency.GBP, label=_("Currency"))
    compensation_reason = forms.CharField(
        required=False, label=_("Why compensate?"), widget=forms.Textarea(attrs={"rows": 2})
    )
    vendor_name = forms.CharField(required=False, max_length=160, label=_("Vendor"))
    vendor_reference = forms.CharField(required=False, max_length=120, label=_("Vendor's reference"))
    vendor_contact = forms.CharField(required=False, max_length=200, label=_("Vendor contact"))
    vendor_follow_up_at = forms.DateTimeField(
        required=False,
        label=_("Chase the vendor on"),
        widget=DayTimeInput(),
    )


class GuidanceForm(forms.Form):
    guidance = forms.CharField(
        label=_("Guidance for the sender"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What they can do themselves next time. The escalation counts as avoidable."),
    )


class FurtherForm(forms.Form):
    reason = forms.CharField(label=_("Why does this need tier 3?"), widget=forms.Textarea(attrs={"rows": 2}))
    dossier_tried = forms.CharField(
        required=False, label=_("What you tried (added to the dossier)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    compensation_amount = forms.DecimalField(
        required=False, min_value=0.01, decimal_places=2, max_digits=10, label=_("Compensation to propose (optional)")
    )
    compensation_currency = forms.ChoiceField(choices=Currency.choices, initial=Currency.GBP, label=_("Currency"))
    compensation_reason = forms.CharField(
        required=False, label=_("Why compensate?"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ResolveForm(forms.Form):
    summary = forms.CharField(
        label=_("Resolution summary"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The customer reads this: say what was done in plain words."),
    )


class ReassignForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.filter(tier__gte=2), label=_("Reassign to"))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(required=False, label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}))


class ManagerRequestForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why would you like a manager to look at this?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )


class ReviewFilterForm(forms.Form):
    type = forms.ChoiceField(choices=[("", _("Any type")), *EscalationType.choices], required=False, label=_("Type"))
    tier = forms.ChoiceField(
        choices=[("", _("Any tier")), *[(str(value), label) for value, label in Tier.choices]],
        required=False,
        label=_("Tier"),
    )
    age = forms.ChoiceField(
        choices=[("", _("Any age")), *[(k, v[0]) for k, v in AGE_FILTERS.items()]], required=False, label=_("Age")
    )
    breach = forms.ChoiceField(
        choices=[
            ("", _("Any SLA state")),
            ("breached", _("SLA breached")),
            ("unacknowledged", _("Not accepted in time")),
            ("ok", _("Within SLA")),
        ],
        required=False,
        label=_("Breach"),
    )
    q = forms.CharField(required=False, label=_("Search"))


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
