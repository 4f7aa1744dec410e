"""Configuration read from the environment: SITE_URL follows PORT in development; EMAIL_URL's file folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_settings(code: str, *, settings: str, **env: str) -> subprocess.CompletedProcess:
    """Evaluate the settings afresh in a child process (they are read once, at import) and run ``code``."""
    environment = {k: v for k, v in os.environ.items() if k not in {"SITE_URL", "PORT", "EMAIL_URL"}}
    environment.update(DJANGO_SETTINGS_MODULE=settings, **env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- SITE_URL ---------------------------------------------------------------------------------------------------


def test_site_url_default_follows_port():
    from helpdesk.settings.base import site_url_default

    assert site_url_default("8123") == "http://localhost:8123"
    assert site_url_default("") == "http://localhost:8000"
    assert site_url_default("not-a-port") == "http://localhost:8000"


def test_make_run_on_another_port_emails_links_to_that_port():
    # given `make run PORT=8123` with no SITE_URL (local settings, as manage.py uses)
    # when the settings are read
    result = run_settings("print(settings.SITE_URL)", settings="helpdesk.settings.local", PORT="8123")
    # then emailed links point at the server that is actually running
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://localhost:8123"


def test_an_explicit_site_url_wins_over_port():
    result = run_settings(
        "print(settings.SITE_URL)",
        settings="helpdesk.settings.local",
        PORT="8123",
        SITE_URL="https://support.example.com/",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://support.example.com"


PRODUCTION = {
    "DJANGO_SECRET_KEY": "x" * 64,
    "DJANGO_ALLOWED_HOSTS": "helpdesk.example.com",
    "EMAIL_URL": "smtp+tls://helpdesk:secret@smtp.example.com:587",
    "PORT": "8123",
}


def test_production_requires_site_url():
    # given production settings with a PORT (a platform sets one) but no SITE_URL
    result = run_settings("print(settings.SITE_URL)", settings="helpdesk.settings.production", **PRODUCTION)
    # then they refuse to load, rather than email links to localhost
    assert result.returncode != 0
    assert "Set the SITE_URL environment variable" in result.stderr

    result = run_settings(
        "print(settings.SITE_URL)",
        settings="helpdesk.settings.production",
        SITE_URL="https://support.example.com",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://support.example.com"


# --- EMAIL_URL=filemail://… -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "folder"),
    [
        ("filemail:///var/mail/x", "/var/mail/x"),
        ("filemail:///srv/helpdesk%20mail/out", "/srv/helpdesk mail/out"),
        ("filemail://relative/dir", str(ROOT / "relative" / "dir")),
        ("filemail://var/mail", str(ROOT / "var" / "mail")),
    ],
)
def test_filemail_url_absolute_and_relative_folders(url, folder):
    from helpdesk.settings.base import mailers_from_url

    # when EMAIL_URL names a folder for the file mailer
    mailers = mailers_from_url(url)
    # then an absolute path stays absolute (as the README writes it) and a relative one is under the project
    assert mailers == {
        "default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend", "OPTIONS": {"file_path": folder}}
    }


def test_filemail_url_without_a_folder_uses_the_var_dir():
    from helpdesk.settings.base import VAR_DIR, filemail_path

    assert filemail_path("filemail://") == str(VAR_DIR / "mail")


def test_email_url_sets_the_file_mailer_folder_in_the_settings(tmp_path):
    # given EMAIL_URL as the README writes it, with an absolute folder
    folder = tmp_path / "outgoing"
    # when the settings are read
    result = run_settings(
        "print(settings.MAILERS['default']['OPTIONS']['file_path'])",
        settings="helpdesk.settings.local",
        EMAIL_URL=f"filemail://{folder}",
    )
    # then the file mailer writes to exactly that folder
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(folder)


# --- PostgreSQL JIT ---------------------------------------------------------------------------------------------


def test_postgres_connections_run_without_jit_unless_asked():
    """Short OLTP queries must not pay JIT compilation: the connection options turn it off; PG_JIT=on keeps the
    server's default. Read from the settings in a child process, so it holds whatever database this run uses."""
    code = "print(settings.DATABASES['default'].get('OPTIONS', {}).get('options', ''))"
    url = "postgres://postgres@127.0.0.1:5432/postgres"
    off = run_settings(code, settings="helpdesk.settings.test", DATABASE_URL=url)
    on = run_settings(code, settings="helpdesk.settings.test", DATABASE_URL=url, PG_JIT="on")
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "-c jit=off"
    assert on.returncode == 0, on.stderr
    assert "jit" not in on.stdout


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_live_postgres_session_has_jit_off():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://…")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
