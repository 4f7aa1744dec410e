"""Forms take input only; the rules are in ``chat.services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from chat.models import MESSAGE_MAX_LENGTH
from helpdesk.models import Category


class ChatStartForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, label=_("Topic"), empty_label=_("Something else")
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=MESSAGE_MAX_LENGTH, label=_("How can we help?")
    )


class ChatMessageForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=MESSAGE_MAX_LENGTH, label=_("Your message")
    )
