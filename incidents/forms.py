"""Forms take input only; the rules are in ``incidents.services``."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk.forms import DayTimeInput
from helpdesk.models import Category
from incidents.models import IncidentResolution, IncidentStatus

OPEN_STATUS_CHOICES = [(s.value, s.label) for s in IncidentStatus if s != IncidentStatus.RESOLVED]


class IncidentDeclareForm(forms.Form):
    title = forms.CharField(
        max_length=200, label=_("Title"), help_text=_("Staff-facing, e.g. “Dashboard down for EU customers”.")
    )
    status = forms.ChoiceField(choices=OPEN_STATUS_CHOICES, initial=IncidentStatus.INVESTIGATING, label=_("Status"))
    customer_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("What customers are told"),
        help_text=_("Sent as a reply on every linked ticket with the first update. Plain words, no internal detail."),
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label=_("Internal description"),
        help_text=_("Staff only: never sent to a customer."),
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.order_by("name"), required=False, label=_("Category"), empty_label=_("Any category")
    )
    keywords = forms.CharField(
        max_length=200,
        required=False,
        label=_("Subject words"),
        help_text=_("Tickets whose subject has one of these words are suggested (the title's words if left empty)."),
    )
    affected_since = forms.DateTimeField(
        required=False,
        widget=DayTimeInput(),
        label=_("Affected since"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every time shown or typed is labelled with its zone: the form reads it in the site's zone.
        self.fields["affected_since"].help_text = gettext(
            "dd/mm/yyyy hh:mm, %(zone)s time; tickets from then on are suggested (two hours ago if empty)."
        ) % {"zone": settings.TIME_ZONE}


class IncidentUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=OPEN_STATUS_CHOICES, label=_("Status"))
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Update for customers"),
        help_text=_("Posted as a public reply on every linked ticket, once each."),
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class IncidentResolveForm(forms.Form):
    resolution = forms.ChoiceField(
        choices=IncidentResolution.choices, widget=forms.RadioSelect, label=_("What happens to the linked tickets")
    )
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label=_("Last update for customers"),
        help_text=_("Optional; posted on every linked ticket before they are resolved or returned."),
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class IncidentLinkForm(forms.Form):
    """Tickets chosen from the suggestions (ids) or typed by reference."""

    tickets = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=(), label=_("Suggested tickets"))
    references = forms.CharField(
        required=False, label=_("Ticket references"), help_text=_("Separated by spaces or commas, e.g. HD-2026-000123.")
    )

    def __init__(self, *args, suggestions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tickets"].choices = [(t.pk, t.reference) for t in suggestions]

    def clean_references(self) -> list[str]:
        raw = self.cleaned_data.get("references") or ""
        return [ref for ref in raw.replace(",", " ").split() if ref]


class TicketIncidentLinkForm(forms.Form):
    incident = forms.TypedChoiceField(coerce=int, choices=(), label=_("Major incident"))

    def __init__(self, *args, incidents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["incident"].choices = [(i.pk, f"{i.reference} {i.title}") for i in incidents]
