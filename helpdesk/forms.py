"""Forms take input only; the rules are in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Category, Priority, Status, Team, User


# Dates are typed the product's way (UK: day/month/year, 24-hour clock), as the en-gb input formats parse them (ISO
# is accepted too). Not <input type=date>/<datetime-local>: a browser draws those in its own locale (mm/dd/yyyy in a
# US-English browser) and no page attribute changes that.
class DayInput(forms.DateInput):
    def __init__(self, attrs: dict | None = None):
        attrs = {"placeholder": "dd/mm/yyyy", "autocomplete": "off", "size": 11, **(attrs or {})}
        super().__init__(attrs=attrs, format="%d/%m/%Y")


class DayTimeInput(forms.DateTimeInput):
    def __init__(self, attrs: dict | None = None):
        attrs = {"placeholder": "dd/mm/yyyy hh:mm", "autocomplete": "off", "size": 17, **(attrs or {})}
        super().__init__(attrs=attrs, format="%d/%m/%Y %H:%M")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=200, label=_("Subject"))
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, label=_("What is it about?"), empty_label=_("Not sure")
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), label=_("Describe the problem"))
    attachments = MultipleFileField(
        label=_("Attachments"), help_text=_("PDF, images, text or Office files; 10 MB each.")
    )


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label=_("Message"))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    template_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    attachments = MultipleFileField(label=_("Attachments"))


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("Internal note"))
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, **kwargs):
        # The note sits on the same page as the reply form: its own ids keep every label tied to its own field.
        kwargs.setdefault("auto_id", "id_note_%s")
        super().__init__(*args, **kwargs)


class TicketUpdateForm(forms.Form):
    """The workspace's property controls; ``version`` is what the agent saw when the page was rendered."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=Status.choices, label=_("Status"))
    priority = forms.ChoiceField(choices=Priority.choices, label=_("Priority"))
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False, label=_("Category"))
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, label=_("Team"), empty_label=_("No team")
    )
    assignee = forms.ModelChoiceField(
        queryset=User.objects.exclude(role="customer").filter(is_active=True),
        required=False,
        label=_("Assignee"),
        empty_label=_("Unassigned"),
    )

    def update_arguments(self) -> dict:
        """The cleaned form as ``ticket_update`` takes it: the workspace and Django admin submit this one form."""
        data = self.cleaned_data
        fields = ("status", "priority", "category", "team", "assignee")
        return {"expected_version": data["version"], **{name: data[name] for name in fields}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].label_from_instance = lambda team: team.name


class AuditExportForm(forms.Form):
    """The period (whole days, UTC) and format of an audit export; the rules are in ``helpdesk.audit_export``."""

    date_from = forms.DateField(label=_("From (UTC)"), widget=DayInput(), help_text=_("The first day, from 00:00 UTC."))
    date_to = forms.DateField(label=_("To (UTC)"), widget=DayInput(), help_text=_("The last day, up to 24:00 UTC."))
    format = forms.ChoiceField(
        label=_("Format"), choices=[("csv", "CSV"), ("jsonl", "JSON Lines")], widget=forms.RadioSelect, initial="csv"
    )
