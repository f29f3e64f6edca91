# The two commands of the README are `make demo` and `make test`; the rest are their parts.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST := $(PY) -m pytest

.PHONY: demo test lint format test-dags test-unit test-integration test-faults-quick test-cluster test-ui faults up down seed cluster-up cluster-down bench bench-cluster clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m devstack.install
	$(PY) -m pip check
	touch $(STAMP)

## demo: install, start the devstack, seed it, run every DAG once, print a summary, stop (KEEP=1 keeps it up)
demo: $(STAMP)
	$(PY) -m devstack up
	@status=0; \
	$(PY) -m devstack seed && $(PY) -m devstack demo || status=$$?; \
	if [ "$(KEEP)" != "1" ]; then $(PY) -m devstack down; else echo "devstack kept up: source .devstack/env"; fi; \
	exit $$status

## test: install, start the devstack, lint, run every test tier, stop the devstack
test: $(STAMP)
	$(PY) -m devstack up
	@status=0; \
	$(MAKE) --no-print-directory -k lint test-dags test-unit test-integration test-faults-quick test-cluster test-ui || status=$$?; \
	$(PY) -m devstack down; \
	exit $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-dags: $(STAMP)
	$(PYTEST) tests/dags

test-unit: $(STAMP)
	$(PYTEST) tests/unit

test-integration: $(STAMP)
	$(PYTEST) tests/integration

## faults: the whole fault suite on the devstack (kills, restarts, drops, bad input); its last line is the ledger
faults: $(STAMP)
	@status=0; $(PYTEST) -o log_level=INFO tests/faults || status=$$?; \
	cat build/faults/summary.txt 2>/dev/null || { echo "faults: no summary written"; status=1; }; \
	exit $$status

## test-cluster: the bundle on the devstack's Celery cluster, through the REST API (starts the cluster itself)
test-cluster: $(STAMP)
	$(PYTEST) tests/cluster

## test-ui: the Airflow UI in Debian's chromium (Playwright) on the cluster (starts it itself); screenshots in build/ui/
test-ui: $(STAMP)
	$(PYTEST) tests/ui

test-faults-quick: $(STAMP)
	$(PYTEST) -o log_level=INFO -m quick tests/faults

up: $(STAMP)
	$(PY) -m devstack up

down:
	$(PY) -m devstack down

seed: $(STAMP)
	$(PY) -m devstack seed

## cluster-up: Airflow's components on the CeleryExecutor (two workers, Redis) against the devstack
cluster-up: $(STAMP)
	$(PY) -m devstack cluster up

cluster-down:
	$(PY) -m devstack cluster down

bench: $(STAMP)
	$(PY) benchmarks/parse_time.py

## bench-cluster: the cluster's memory, the demo on it against `airflow dags test`, the cost of waiting (QUICK=1: short windows)
bench-cluster: $(STAMP)
	$(PY) benchmarks/cluster.py $(if $(filter 1,$(QUICK)),--quick)

clean: down
	rm -rf .devstack
