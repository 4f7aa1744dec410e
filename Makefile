# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test venv lint format migrate demo bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $$(tools/find-python) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --password "$${DEMO_PASSWORD:-demo1234}"

## make run: venv + install + migrate + demo data, then web + Celery worker + beat (+ embedded Redis). Ctrl-C stops all.
run: demo
	$(PY) -m helpdesk.devrun

## make test: the whole suite (browser tests need Debian's chromium; they are skipped with a reason without it).
test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py i18n_check
	DJANGO_SETTINGS_MODULE=helpdesk.settings.production DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')} \
	  DJANGO_ALLOWED_HOSTS=$${DJANGO_ALLOWED_HOSTS:-helpdesk.example.com} SITE_URL=$${SITE_URL:-https://helpdesk.example.com} \
	  EMAIL_URL=$${EMAIL_URL:-smtp+tls://helpdesk:secret@smtp.example.com:587} $(PY) manage.py check --deploy --fail-level WARNING

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: venv
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf var/ .pytest_cache test-results
