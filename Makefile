# The two commands of this project: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
# The emulators take this port and the next three (CLICK, Payme, the PIN pad's link name,
# Uzum).
EMULATOR_BASE_PORT ?= 8101

.PHONY: run test lint install docs docs-check fuzz

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The back office's translations (locale/*/LC_MESSAGES/django.po), compiled for Django;
# msgfmt comes with GNU gettext (Debian: gettext).
install: $(VENV)/.installed
	$(BIN)/python manage.py compilemessages --ignore=.venv --verbosity 0

# The service on $(HOST):$(PORT) with SQLite and the provider emulators.
run: export ALLOW_TEST_DEPLOYMENT = true
run: install
	@# The environment the last run left for the commands beside it: written anew below,
	@# and not to be read by this run's own steps (its database may be gone).
	rm -f .run/local.env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py run_local --host $(HOST) --port $(PORT) \
		--emulator-base-port $(EMULATOR_BASE_PORT)

# The whole test suite, on SQLite unless DATABASE_URL says otherwise.
test: install
	$(BIN)/python -m pytest

# The API schema against the running service: schemathesis sends 2,000 and more generated
# requests to `make run`'s service (a few minutes); no 5xx, nothing outside the envelope,
# nothing the schema does not allow.
fuzz: install
	$(BIN)/python -m pytest -q -m fuzz tests/fuzz

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The generated parts of docs/: the browser screenshots and the fault-matrix tables.
# A plain `make test` writes nothing into the tree. The database rows of the matrix run on
# PostgreSQL only: `DATABASE_URL=postgres://... make docs` writes their table as well.
docs: install
	WRITE_DOCS=1 $(BIN)/python -m pytest -q tests/browser tests/reliability
	$(BIN)/python -m tests.reliability.report

# After `make test`: fails when docs/reliability.md is not what that run observed.
docs-check:
	$(BIN)/python -m tests.reliability.report --check
