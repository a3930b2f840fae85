# psvs-ledger: build, run and check.
#
#   make run          start the service at http://127.0.0.1:8000
#   make test         run the test suite (PYTEST_ARGS='-n 2' to parallelise, '-k NAME' to select)
#   make test-faults  kill servers and databases on purpose (slow; tests/faults)
#   make test-hostile schemathesis against a served app (bounded)
#   make lint         ruff, mypy and the import-layer contracts
#   make bench        full benchmark; make bench-quick for a short one
#   make clean        remove caches and build output (keeps .venv and the data under var/)

VENV ?= .venv
PYTHON ?= python3
PYTEST_ARGS ?=
HOSTILE_EXAMPLES ?= 10
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

.PHONY: help install run test test-faults test-hostile lint bench bench-quick clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

install: $(STAMP)

# (Re)install whenever pyproject.toml changes. An existing virtualenv is kept and reused.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -e '.[dev]'
	touch $@

run: $(STAMP)
	$(VENV)/bin/psvs-ledger serve

# The OpenID provider the identity tests run (tests/oidc_provider), installed from its lock file.
OIDC_PROVIDER := tests/oidc_provider/node_modules/.installed
$(OIDC_PROVIDER): tests/oidc_provider/package.json tests/oidc_provider/package-lock.json
	npm ci --no-audit --no-fund --prefix tests/oidc_provider
	touch $@

test: $(STAMP) $(OIDC_PROVIDER)
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Each fault test starts its own servers on its own embedded PostgreSQL, one at a time.
test-faults: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m faults tests/faults $(PYTEST_ARGS)

# Schemathesis against `psvs-ledger serve` on its own embedded PostgreSQL (tests/hostile/run.py).
test-hostile: $(STAMP)
	$(VENV)/bin/python -m tests.hostile.run --max-examples $(HOSTILE_EXAMPLES)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(VENV)/bin/python -m bench.run

bench-quick: $(STAMP)
	$(VENV)/bin/python -m bench.run --quick

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
	find . \( -path ./$(VENV) -o -path ./var -o -path ./.git \) -prune -o \
		\( -name '*.egg-info' -o -name __pycache__ \) -prune -exec rm -rf {} +
