"""Production: secure cookies, HSTS, HTTPS redirect; secrets and hosts must come from the environment."""

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import env, mailers_from_url

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# The public base of emailed links: required (the development default points at localhost).
SITE_URL = env.str("SITE_URL").rstrip("/")
# Production must send real email: EMAIL_URL is required (e.g. smtp+tls://user:password@smtp.example.com:587).
MAILERS = mailers_from_url(env.str("EMAIL_URL"))

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
