# make run: a working console on http://127.0.0.1:8000 with nothing but Python.
# make import PATHS="docs/runbooks": import runbook documents (files or folders) into that same console.
# make test: ruff, then the whole suite against its own PostgreSQL, Redis and Chromium.
# run and import write var/local.env once (a generated SECRET_KEY, DEBUG=true) so that manage.py works here
# without exporting anything; see console/localenv.py.
# Python 3.11 (pyproject.toml requires it): python3.11 when installed, else python3.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run import local-env test lint install bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

local-env: $(STAMP)
	@$(PY) -m console.localenv

run: local-env
	DEBUG=$${DEBUG:-true} $(PY) manage.py runconsole $(RUN_ARGS)

import: local-env
	@test -n "$(PATHS)" || { echo 'usage: make import PATHS="docs/runbooks" (documents or folders; IMPORT_ARGS="--dry-run" to look first)' >&2; exit 2; }
	@$(PY) manage.py migrate --noinput --verbosity 0
	$(PY) manage.py import_runbooks $(IMPORT_ARGS) $(PATHS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) lint
	$(PY) -m tests.services -- $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m tests.services -- $(PY) bench/run_all.py

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
