# psvs-ledger: build, run and check.
#
#   make run          start the service at http://127.0.0.1:8000
#   make test         run the test suite (PYTEST_ARGS='-n 2' to parallelise, '-k NAME' to select)
#   make test-faults  kill servers and databases on purpose (slow; tests/faults)
#   make test-hostile schemathesis against a served app (bounded)
#   make lint         ruff (rules and formatting), mypy (code, tests, bench), import contracts
#   make bench        full benchmark; make bench-quick for a short one
#   make clean        remove caches and build output (keeps .venv and the data under var/)
#   make lock         refresh requirements.lock and requirements-dev.lock (LOCK_ARGS=--upgrade for newest)

VENV ?= .venv
PYTHON ?= python3
PYTEST_ARGS ?=
HOSTILE_EXAMPLES ?= 10
# Two installs into the one .venv: the service alone (`make run`) and the service with the test
# and lint tools (everything else). Each is pinned by its lock file, used as pip constraints.
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
LOCK_ARGS ?=
# What tests/browser need from Debian; `make test` installs them (as root) when they are missing.
BROWSER_PACKAGES ?= chromium fonts-wqy-zenhei
APT_GET ?= apt-get

.DEFAULT_GOAL := help

.PHONY: help install run test test-faults test-hostile lint bench bench-quick clean lock browser

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

install: $(STAMP)

# (Re)install whenever pyproject.toml or the lock changes. An existing virtualenv is kept and reused.
$(STAMP): pyproject.toml $(DEV_LOCK)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -c $(DEV_LOCK) -e '.[dev]'
	touch $@

$(RUN_STAMP): pyproject.toml $(LOCK)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -c $(LOCK) -e .
	touch $@

# pip-tools' pins for this Python and platform, from pyproject.toml's dependencies and its `dev`
# extra; pip-tools runs in a throwaway virtualenv. Existing pins are kept unless LOCK_ARGS=--upgrade
# (or --upgrade-package NAME). The runtime lock is constrained by the dev lock, so the two agree.
PIP_COMPILE_ARGS := --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	--no-emit-trusted-host $(LOCK_ARGS)
lock:
	tmp="$$(mktemp -d)" && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp" && \
	"$$tmp/bin/python" -m pip install --quiet 'pip-tools>=7.4,<8' && \
	export CUSTOM_COMPILE_COMMAND='make lock' && \
	"$$tmp/bin/pip-compile" $(PIP_COMPILE_ARGS) --extra dev -o $(DEV_LOCK) pyproject.toml && \
	"$$tmp/bin/pip-compile" $(PIP_COMPILE_ARGS) -c $(DEV_LOCK) -o $(LOCK) pyproject.toml

# tests/browser drive /usr/bin/chromium through Playwright (never a downloaded browser) with a CJK
# font. apt runs only when a package is missing, so a warm machine spends no time here. "Missing"
# is anything but "install ok installed": `dpkg -s` also succeeds for a package removed with its
# configuration files left behind.
browser:
	@if [ "$$(dpkg-query -W -f='$${Status}\n' $(BROWSER_PACKAGES) 2>/dev/null | grep -c '^install ok installed$$')" = "$(words $(BROWSER_PACKAGES))" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing $(BROWSER_PACKAGES) for the browser tests"; \
		$(APT_GET) update -qq && \
		DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq $(BROWSER_PACKAGES); \
	else \
		echo "make test: the browser tests need Debian's $(BROWSER_PACKAGES); install them (sudo apt-get install $(BROWSER_PACKAGES)) or run make test as root" >&2; \
		exit 1; \
	fi

run: $(RUN_STAMP)
	$(VENV)/bin/psvs-ledger serve

# The OpenID provider the identity tests run (tests/oidc_provider), installed from its lock file.
OIDC_PROVIDER := tests/oidc_provider/node_modules/.installed
$(OIDC_PROVIDER): tests/oidc_provider/package.json tests/oidc_provider/package-lock.json
	npm ci --no-audit --no-fund --prefix tests/oidc_provider
	touch $@

test: $(STAMP) $(OIDC_PROVIDER) browser
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Each fault test starts its own servers on its own embedded PostgreSQL, one at a time.
test-faults: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m faults tests/faults $(PYTEST_ARGS)

# Schemathesis against `psvs-ledger serve` on its own embedded PostgreSQL (tests/hostile/run.py).
test-hostile: $(STAMP)
	$(VENV)/bin/python -m tests.hostile.run --max-examples $(HOSTILE_EXAMPLES)

# The same checks as .pre-commit-config.yaml and .ci/run: ruff's rules and its formatting, mypy on
# everything pyproject.toml's [tool.mypy] lists (the code strictly; tests and bench too), and the
# import-layer contracts.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
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
