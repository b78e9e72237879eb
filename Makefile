# make run: a working console on http://127.0.0.1:8000 with nothing but Python.
# make test: ruff, then the whole suite against its own PostgreSQL, Redis and Chromium.
# Python 3.11 (pyproject.toml requires it): python3.11 when installed, else python3.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(PY) manage.py runconsole $(RUN_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) lint
	$(PY) -m tests.services -- $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m tests.services -- $(PY) bench/run_all.py

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
