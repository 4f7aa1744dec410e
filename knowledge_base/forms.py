"""Forms take input only; the rules are in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Category
from knowledge_base.models import ArticleStatus, ArticleVisibility, ProposalKind


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, empty_label=_("All topics"), to_field_name="slug"
    )
    status = forms.ChoiceField(choices=[("", _("Any status")), *ArticleStatus.choices], required=False)


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, empty_label=_("No category"), label=_("Category")
    )
    visibility = forms.ChoiceField(
        choices=ArticleVisibility.choices, initial=ArticleVisibility.INTERNAL, label=_("Visibility")
    )
    tags = forms.CharField(
        max_length=250, required=False, label=_("Tags"), help_text=_("Comma-separated keywords customers would type.")
    )
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 18}), label=_("Body"), help_text=_("Markdown."))
    note = forms.CharField(max_length=250, required=False, label=_("What changed?"))
    expected_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ProposalForm(forms.Form):
    kind = forms.ChoiceField(
        choices=ProposalKind.choices, widget=forms.RadioSelect, initial=ProposalKind.COMMENT, label=_("Kind")
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Comment"))
    proposed_title = forms.CharField(max_length=200, required=False, label=_("Suggested title"))
    proposed_body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}), required=False, label=_("Suggested text")
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Reason for declining"))


class HelpSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=_("Search the help centre"))
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(),
        required=False,
        empty_label=_("All topics"),
        to_field_name="slug",
        label=_("Topic"),
    )


class ContactForm(forms.Form):
    email = forms.EmailField(
        max_length=254, label=_("Your email address"), help_text=_("We send a link to confirm it.")
    )
    name = forms.CharField(max_length=150, required=False, label=_("Your name"))
    subject = forms.CharField(max_length=200, label=_("Subject"))
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, empty_label=_("Not sure"), label=_("Topic")
    )
    description = forms.CharField(
        max_length=20000, widget=forms.Textarea(attrs={"rows": 7}), label=_("How can we help?")
    )
    # A field people never see (hidden by the stylesheet): bots that fill every input give themselves away.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("website"):
            raise forms.ValidationError(_("We could not accept this form. Please try again."))
        return data
