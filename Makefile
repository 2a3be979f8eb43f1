# Developer entry points. `make demo` and `make test` work on a fresh machine with Python 3.11+ and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAM_VENV ?= .venv-sam
CHECKOV_VENV ?= .venv-checkov
PYTHON313 ?= $(shell pyenv prefix 3.13.0 2>/dev/null || pyenv prefix 3.13 2>/dev/null)

PROMPT ?= A paper boat drifting down a rain-soaked street at dusk, cinematic
MODEL ?=
IMAGE ?=
VIDEO ?=
RATIO ?=
DURATION ?=
TIME_SCALE ?=
PORT ?= 8787

.PHONY: dev lint checkov test sam-check unit e2e faults bad-input demo simulator openapi bench load build validate clean

dev: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt layers/shared/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

lint: dev $(CHECKOV_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	PYTHONPATH=layers/shared:. $(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/cfn-lint template.yaml
	$(MAKE) --no-print-directory checkov

# Security checks of the template, offline (no guideline download): zero failed checks; each exception is an
# inline skip with its reason beside the resource (Metadata: checkov: skip). About 10 s.
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

# The README's test command: static checks, the SAM CLI's own validation and build, then every test.
test: lint sam-check
	$(PY) -m pytest -n 2 --dist loadgroup

# In CI the build is mandatory; on a machine without Python 3.13 it is skipped with a warning.
sam-check: validate
	@if [ -x "$(PYTHON313)/bin/python3.13" ] || [ -n "$$CI" ]; then \
		$(MAKE) --no-print-directory build; \
	else \
		echo "WARNING: no Python 3.13 found: skipping sam build (install one, e.g. 'pyenv install 3.13')"; \
	fi

unit: dev
	$(PY) -m pytest -m "not e2e"

e2e: dev
	$(PY) -m pytest -m e2e

# The fault suite (tests/faults): scripted Runway and AWS failures through the local pipeline.
faults: dev
	$(PY) -m pytest -m faults -n 2 --dist loadgroup

# The bad-input suite (tests/bad_input): API, S3 files and step inputs refused precisely, property tests and
# the OpenAPI fuzz of the HTTP API (FUZZ_EXAMPLES examples per operation, default 25).
bad-input: dev
	$(PY) -m pytest -m bad_input

demo: dev
	$(PY) -m local.runner --prompt "$(PROMPT)" $(if $(TIME_SCALE),--time-scale "$(TIME_SCALE)") \
		$(if $(MODEL),--model "$(MODEL)") $(if $(IMAGE),--image "$(IMAGE)") $(if $(VIDEO),--video "$(VIDEO)") \
		$(if $(RATIO),--ratio "$(RATIO)") $(if $(DURATION),--duration "$(DURATION)")

simulator: dev
	$(PY) -m local.simulator --port $(PORT)

# Regenerate the committed OpenAPI document from the API handler (a test keeps them equal).
openapi: dev
	$(PY) scripts/write_openapi.py

bench: dev
	$(PY) bench/run.py $(if $(QUICK),--quick)

# 200 concurrent jobs through the local stack, one in ten with a fault; fails if anything is lost or doubled.
load: dev
	$(PY) bench/load.py

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==1.170.0
	touch $@

# sam build needs a python3.13 on PATH (the Lambda runtime); pyenv provides one here.
build: $(SAM_VENV)/.installed
	@test -x "$(PYTHON313)/bin/python3.13" || { echo "sam build needs Python 3.13 (the Lambda runtime): install it, e.g. 'pyenv install 3.13', or set PYTHON313=<prefix>"; exit 1; }
	PATH="$(PYTHON313)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build

validate: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint

clean:
	rm -rf .aws-sam out .pytest_cache .mypy_cache .ruff_cache
