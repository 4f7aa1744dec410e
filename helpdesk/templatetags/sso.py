"""``{% sso_login_url as url %}``: where the sign-in page's single sign-on button goes, or "" when SSO is off."""

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.simple_tag
def sso_login_url() -> str:
    return reverse("sso_login") if settings.OIDC_ENABLED else ""
