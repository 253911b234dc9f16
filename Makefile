# Mahalo Health. `make run` for a laptop demo, `make test` for the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast e2e lint bench migrate seed worker beat clean

install: $(STAMP)

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

var:
	mkdir -p var

migrate: install var
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# The laptop demo: SQLite under var/, eager Celery, console email, DEBUG on
# (so staff are not forced through MFA enrolment; set MAHALO_REQUIRE_STAFF_MFA=true to try it).
run: seed
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not e2e" -n 2

e2e: install
	$(PY) -m pytest -m e2e

lint: install
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) bench/run.py
	$(PY) bench/dashboard.py
	$(PY) bench/ingest.py
	$(PY) bench/apple_health.py

worker: install
	$(VENV)/bin/celery -A mahalo worker --loglevel=info

beat: install
	$(VENV)/bin/celery -A mahalo beat --loglevel=info

clean:
	rm -rf $(VENV) var/mahalo.sqlite3 .pytest_cache
