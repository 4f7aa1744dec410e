"""Test settings: fast hashing, in-memory email, the same broker rules as production."""

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import DATABASES, VAR_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
SITE_URL = "https://helpdesk.example.test"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PRIVATE_MEDIA_ROOT = VAR_DIR / "test-private"
STORAGES["private"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so that real Celery worker threads and browser-test servers share the data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-helpdesk.sqlite3")}
# Two-step sign-in is optional in tests, so fixtures and browser tests sign managers and admins in with a password;
# the MFA tests turn the requirement on with the ``settings`` fixture (tests/helpdesk/test_mfa.py).
MFA_REQUIRED_ROLES = []
