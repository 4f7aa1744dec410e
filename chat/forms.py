"""Forms take input only; the rules are in ``chat.services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from chat.models import MESSAGE_MAX_LENGTH
from escalations.models import EscalationType
from helpdesk.models import Category, Team, Tier


class ChatStartForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, label=_("Topic"), empty_label=_("Something else")
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=MESSAGE_MAX_LENGTH, label=_("How can we help?")
    )


class ChatMessageForm(forms.Form):
    # Words or a file, or both: ``chat.services.chat_post`` says which is missing, and checks the file.
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=MESSAGE_MAX_LENGTH, label=_("Your message"), required=False
    )
    attachment = forms.FileField(required=False, label=_("Attach a file"), allow_empty_file=True)


class ChatEscalateForm(forms.Form):
    """Staff console: bring a specialist team into the chat (the console renders the fields itself, once per chat,
    from one list of teams, so that many chats do not cost one query each)."""

    team = forms.ModelChoiceField(queryset=Team.objects.filter(tier=Tier.SPECIALIST), label="Specialist team")
    escalation_type = forms.ChoiceField(choices=EscalationType.choices, initial=EscalationType.TECHNICAL, label="Type")
    note = forms.CharField(required=False, max_length=2000, label="What the specialist should know")


CALLBACK_STARTS = [(0, "Within the next hour"), (60, "In 1 hour"), (120, "In 2 hours"), (240, "In 4 hours")]


class ChatCallbackForm(forms.Form):
    starts_in_minutes = forms.TypedChoiceField(choices=CALLBACK_STARTS, coerce=int, initial=0, label="Call back")
    number = forms.CharField(required=False, max_length=40, label="Number")
    reason = forms.CharField(required=False, max_length=2000, label="Why")


class ChatGuestStartForm(forms.Form):
    """An anonymous visitor starts a guest chat (``chat.guest``): who they are, the topic and the first message."""

    name = forms.CharField(max_length=150, label=_("Your name"))
    email = forms.EmailField(max_length=254, label=_("Your email"))
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, label=_("Topic"), empty_label=_("Something else")
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=MESSAGE_MAX_LENGTH, label=_("How can we help?")
    )
