# Tracker: `make run` serves the app, `make test` runs the whole suite, `make lint` checks the code. Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# One stamp per requirements file: `make run` installs only what production installs; `make test`, `make lint`
# and `make bench` add the development tools. A change to either file re-installs it, and only it.
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
LINT_PATHS := tracker tests bench migrations wsgi.py

.PHONY: run test lint bench profile-api migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $(STAMP_RUN)

$(STAMP_DEV): requirements-dev.txt $(STAMP_RUN)
	$(PIP) -r requirements-dev.txt
	touch $(STAMP_DEV)

migrate: $(STAMP_RUN)
	$(FLASK) db upgrade

run: migrate
	TRACKER_RUN_WORKER=1 $(FLASK) run --host $(HOST) --port $(PORT)

test: $(STAMP_DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff, then the import-linter contracts in pyproject.toml: both run, and either one failing fails the target.
lint: $(STAMP_DEV)
	@status=0; \
	$(BIN)/ruff check $(LINT_PATHS) || status=1; \
	$(BIN)/lint-imports --no-logo || status=1; \
	exit $$status

bench: $(STAMP_DEV)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

profile-api: $(STAMP_DEV)
	$(BIN)/python -m bench.profile_api $(PROFILE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
