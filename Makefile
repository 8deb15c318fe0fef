# The platform's entry points. On a fresh Debian machine with Python 3.11:
#   make run    set up everything and start the platform on http://127.0.0.1:8000
#   make test   set up everything and run unit, contract, integration and deploy tests
#   make test-unit  the unit and contract tiers only (no broker, about a minute), and the linter
#   make chaos  the fault suite (tests/faults) in longer, repeated rounds; report in var/faults/report.md
#   make docs-assets  the renderers of /docs and /docs/events (npm, pinned) into gateway/static/vendor/
#   make test-tools   the AsyncAPI parser and playwright-core (npm, pinned), Debian's chromium (apt)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CRM := $(VENV)/bin/crm
PORT ?= 8000
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: run test test-unit lint migrate bench replay-dead-letters dead-letters k8s-validate broker venv clean help \
	docs-assets test-tools

# The renderers of /docs (Swagger UI) and /docs/events (the AsyncAPI React component), from their pinned
# npm packages (gateway/static/assets/package-lock.json) into gateway/static/vendor/: the gateway serves them.
DOCS_NPM := gateway/static/assets
DOCS_VENDOR := gateway/static/vendor
DOCS_STAMP := $(DOCS_VENDOR)/.installed
# The test tools: the AsyncAPI project's parser and playwright-core (tests/tools/asyncapi/package-lock.json),
# and Debian's chromium for the browser tests.
TOOLS_NPM := tests/tools/asyncapi
TOOLS_STAMP := $(TOOLS_NPM)/node_modules/.installed

help:
	@sed -n 's/^#   //p' Makefile

$(STAMP): requirements.lock pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=...)")'
	@test -x $(PY) || { echo "Creating $(VENV) (Python 3.11)..."; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the pinned dependencies (requirements.lock) into $(VENV)..."
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q --no-deps -r requirements.lock
	@# setuptools' build backend prints a banner on every editable install (BuildBackendWarning): not for us
	@PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install -q --no-deps -e .
	@PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install -q --no-deps -e clients/python
	@touch $(STAMP)

venv: $(STAMP)

$(DOCS_STAMP): $(DOCS_NPM)/package-lock.json
	@scripts/ensure-node.sh
	@echo "Installing the API docs' renderers (npm ci in $(DOCS_NPM), copied to $(DOCS_VENDOR))..."
	@$(DOCS_NPM)/vendor.sh

docs-assets: $(DOCS_STAMP)

$(TOOLS_STAMP): $(TOOLS_NPM)/package-lock.json
	@scripts/ensure-node.sh
	@echo "Installing the test tools (npm ci in $(TOOLS_NPM))..."
	@npm ci --prefix $(TOOLS_NPM) --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(TOOLS_STAMP)

test-tools: $(TOOLS_STAMP)
	@tests/tools/ensure-chromium.sh

broker:
	@scripts/ensure-rabbitmq.sh

migrate: venv broker
	$(CRM) migrate all

run: venv broker docs-assets
	@$(CRM) run --port $(PORT)

# two lanes at once (scripts/test_lanes.py: the suite mostly waits on platforms and the broker)
test: venv broker lint docs-assets test-tools
	PYTEST_ARGS="$(PYTEST_ARGS)" $(PY) scripts/test_lanes.py

test-unit: venv lint docs-assets $(TOOLS_STAMP)
	$(PY) -m pytest -q tests/unit tests/contract $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

bench: venv broker
	$(PY) -m bench.run

replay-dead-letters: venv broker
	$(CRM) dead-letters list
	$(CRM) dead-letters replay --all

dead-letters: venv broker
	$(CRM) dead-letters list

k8s-validate: venv
	bash deploy/k8s/validate.sh

clean:
	rm -rf var/ .pytest_cache

# make up     the platform as Kubernetes runs it: each process detached, one PostgreSQL database
#             each (crm_<name>), 2 competing customers replicas (UP_REPLICAS_CUSTOMERS); logs in var/up/
# make down   stop what `make up` started (SIGTERM, then SIGKILL after UP_STOP_TIMEOUT)
# make chaos  tests/faults (`make up` on its own RabbitMQ node and PostgreSQL cluster), longer and repeated:
# FAULT_ROUNDS, FAULT_LOAD_SECONDS, FAULT_BROKER_DOWN_SECONDS, FAULT_DB_DOWN_SECONDS (tests/faults/settings.py)
.PHONY: up down chaos
FAULT_ROUNDS ?= 3
FAULT_LOAD_SECONDS ?= 20
FAULT_BROKER_DOWN_SECONDS ?= 60
FAULT_DB_DOWN_SECONDS ?= 20
chaos: venv
	FAULT_ROUNDS=$(FAULT_ROUNDS) FAULT_LOAD_SECONDS=$(FAULT_LOAD_SECONDS) \
	FAULT_BROKER_DOWN_SECONDS=$(FAULT_BROKER_DOWN_SECONDS) FAULT_DB_DOWN_SECONDS=$(FAULT_DB_DOWN_SECONDS) \
	$(PY) -m pytest -q tests/faults $(PYTEST_ARGS)

up: venv broker docs-assets
	$(PY) scripts/platform_up.py up

down: venv broker
	$(PY) scripts/platform_up.py down
