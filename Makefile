# Mahalo Health. `make run` for a laptop demo, `make test` for the suite, `make lint` for every check CI runs.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Modules may grow to this many lines; past it they become a package (DESIGN.md "Inside an app").
MAX_MODULE_LINES ?= 800

.PHONY: install install-prod run test test-fast e2e lint lint-size bench migrate seed worker beat clean cluster-test

# Development: runtime pins plus test and tooling packages (requirements-dev.txt includes requirements.txt).
install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip check
	touch $(STAMP)

# Production: what the servers run, nothing else (no stamp: a later `make install` still adds the dev tools).
install-prod:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip check

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

# Every check CI runs besides the tests. Each step runs even when an earlier one failed
# (so one run lists every problem); the target fails if any did.
lint: install var
	@status=0; \
	echo "== ruff"; $(PY) -m ruff check . || status=1; \
	echo "== layer contract (.importlinter)"; $(VENV)/bin/lint-imports --no-cache || status=1; \
	echo "== the one gate (check_gate)"; $(PY) manage.py check_gate || status=1; \
	echo "== migrations"; $(PY) manage.py makemigrations --check --dry-run || status=1; \
	echo "== system checks"; $(PY) manage.py check || status=1; \
	echo "== module size (max $(MAX_MODULE_LINES) lines)"; $(MAKE) --no-print-directory lint-size || status=1; \
	exit $$status

# Modules past the limit, migrations, tests and benchmarks excepted (they are data and scripts).
lint-size:
	@over=$$(git ls-files --cached --others --exclude-standard '*.py' | grep -Ev '(^|/)(migrations|tests)/|(^|/)(test_[^/]*|conftest)\.py$$|^bench/' \
		| xargs -r wc -l | awk -v max=$(MAX_MODULE_LINES) '$$2 != "total" && $$1 > max {print "  " $$2 ": " $$1 " lines"}'); \
	if [ -n "$$over" ]; then echo "Modules over $(MAX_MODULE_LINES) lines (split them into a package):"; echo "$$over"; exit 1; fi; \
	echo "No module over $(MAX_MODULE_LINES) lines."

bench: install
	$(PY) bench/run.py
	$(PY) bench/chart.py
	$(PY) bench/ingest.py
	$(PY) bench/apple_health.py
	$(PY) bench/report.py
	$(PY) bench/fhir_export.py
	$(PY) bench/summary.py

worker: install
	$(VENV)/bin/celery -A mahalo worker --loglevel=info

beat: install
	$(VENV)/bin/celery -A mahalo beat --loglevel=info

clean:
	rm -rf $(VENV) var/mahalo.sqlite3 .pytest_cache

# The production topology on loopback (issue 20): PostgreSQL primary + streaming replica, PgBouncer in
# transaction mode, Redis, two gunicorn, two workers on different queues, two beats; a scripted day and
# its assertions. Starts and stops everything itself (ops/cluster_test.py; CLUSTER_KEEP=1 keeps the logs).
cluster-test: install
	$(PY) ops/cluster_test.py
