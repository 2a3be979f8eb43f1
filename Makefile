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

.PHONY: dev lint lint-ruff lint-mypy lint-imports checkov test pytest sam-check unit e2e faults bad-input demo simulator openapi bench load build validate clean

dev: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt layers/shared/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Static checks, run in parallel. The template's checks (cfn-lint, checkov, sam validate) and sam build leave
# a stamp (in $(STAMPS)/, .aws-sam/build/) and run again only when their inputs change; a fresh checkout runs
# them all. mypy and ruff keep their own caches.
STAMPS := .make
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
CHECKOV_RUN := $(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download
BUILD_INPUTS := template.yaml $(shell find functions layers statemachine -type f -not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null)
STATIC_CHECKS := lint-ruff lint-mypy lint-imports $(STAMPS)/cfn-lint $(STAMPS)/checkov
JOBS ?= 4

lint: dev $(CHECKOV_VENV)/.installed
	@$(MAKE) --no-print-directory -j $(JOBS) --output-sync=target $(STATIC_CHECKS)

lint-ruff: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lint-mypy: dev
	$(VENV)/bin/mypy

lint-imports: dev
	PYTHONPATH=layers/shared:. $(VENV)/bin/lint-imports --no-cache

$(STAMPS)/cfn-lint: template.yaml $(VENV)/.installed
	@mkdir -p $(STAMPS)
	$(VENV)/bin/cfn-lint template.yaml
	@touch $@

$(STAMPS)/checkov: template.yaml $(CHECKOV_VENV)/.installed
	@mkdir -p $(STAMPS)
	$(CHECKOV_RUN)
	@touch $@

# Security checks of the template, offline (no guideline download): zero failed checks; each exception is an
# inline skip with its reason beside the resource (Metadata: checkov: skip). About 10 s.
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_RUN)

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

# The README's test command: static checks, the SAM CLI's own validation and build, and every test, all at
# once (each target's output is shown when it ends; pytest's last).
test: dev $(CHECKOV_VENV)/.installed $(SAM_VENV)/.installed
	@$(MAKE) --no-print-directory -j $(JOBS) --output-sync=target $(STATIC_CHECKS) sam-check pytest

pytest: dev
	$(PY) -m pytest -n 2 --dist loadgroup

# In CI the build is mandatory; on a machine without Python 3.13 it is skipped with a warning.
sam-check: $(STAMPS)/validate
	@if [ -x "$(PYTHON313)/bin/python3.13" ] || [ -n "$$CI" ]; then \
		$(MAKE) --no-print-directory $(BUILD_STAMP); \
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
	PATH="$(PYTHON313)/bin:$$PATH" $(SAM) build

# The build of `make test`: again only when the template, a function, the layer or a definition changed
# (the stamp lives in the build folder, so deleting .aws-sam builds again).
BUILD_STAMP := .aws-sam/build/.make-stamp
$(BUILD_STAMP): $(BUILD_INPUTS) $(SAM_VENV)/.installed
	$(MAKE) --no-print-directory build
	@touch $@

validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint

$(STAMPS)/validate: template.yaml $(SAM_VENV)/.installed
	@mkdir -p $(STAMPS)
	$(SAM) validate --lint
	@touch $@

clean:
	rm -rf .aws-sam out .pytest_cache .mypy_cache .ruff_cache $(STAMPS)
