# Everything a fresh machine needs: `make run` (demo on SQLite) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KEYS ?= $(CURDIR)/keys
HOST ?= 127.0.0.1
PORT ?= 5000

export TRACKER_ENV ?= development
export TRACKER_HASH_KEY_FILE ?= $(KEYS)/hash.key
export TRACKER_PUBLIC_KEY_FILE ?= $(KEYS)/group.pub

.PHONY: install catalogs keys run test test-quick chromium hledger redis nightly bench bench-public bench-login bench-slow bench-admin bench-mixed lint audit extract clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

catalogs: install
	$(BIN)/pybabel compile -d tracker/translations

keys: install
	@test -f $(KEYS)/hash.key || $(BIN)/tracker keys generate --dir $(KEYS)

# Creates the environment and the SQLite database, loads the demo, serves it.
run: install catalogs keys
	$(BIN)/tracker init-db
	$(BIN)/tracker demo
	$(BIN)/flask --app tracker run --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright's own download does not work here).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium (sudo apt-get install chromium) for the browser tests"; fi; }

# Debian's hledger, which checks the ledger export in the tests (`hledger check`).
hledger:
	@command -v hledger >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hledger >/dev/null; \
	  else echo "install Debian's hledger (sudo apt-get install hledger) for the ledger export tests"; fi; }

# Debian's redis-server: the brute-force test (W5) runs gunicorn with shared rate limits in it.
redis:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "install Debian's redis-server (sudo apt-get install redis-server) for the brute-force test"; fi; }

# The whole suite, on SQLite and PostgreSQL (127.0.0.1:5432, or TEST_POSTGRES_URL).
test: install catalogs chromium hledger
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

test-quick: install catalogs
	$(BIN)/python -m pytest -n 2 -x -q -m "not slow"

# Full counts of the property and stateful tests (RELIABILITY.md "nightly").
nightly: install catalogs chromium hledger
	HYPOTHESIS_PROFILE=nightly $(BIN)/python -m pytest -n 2 -p no:cacheprovider

bench: install
	$(BIN)/python bench/tagging.py

# Public pages under load, 1k against 1M donations (RELIABILITY.md X1, X2); takes a while.
bench-public: install catalogs
	$(BIN)/python bench/public_pages.py

# Sign-ins during the public load (X5) and slow clients against gunicorn (X6).
bench-login: install catalogs
	$(BIN)/python bench/login_dos.py

bench-slow: install catalogs
	$(BIN)/python bench/slow_clients.py

# The treasurer's list pages, demo against demo + a 1M-line import (issue 7); takes a while.
bench-admin: install catalogs
	$(BIN)/python bench/admin_pages.py

# A 100k-line import by the worker while the public pages are under load (X4).
bench-mixed: install catalogs
	$(BIN)/python bench/mixed_load.py

# bandit on tracker/ and pip-audit (PyPI vulnerability service) on the dependencies (W11);
# exceptions only in security/ignores.toml, each with a reason and an expiry.
audit: install
	$(BIN)/python security/audit.py

lint: install
	$(BIN)/ruff check tracker tests bench
	$(BIN)/mypy

extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -k ngettext:1,2 --no-location --sort-output -o tracker/translations/messages.pot .
	$(BIN)/pybabel update -i tracker/translations/messages.pot -d tracker/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
