# Sharecast — the two commands a newcomer needs are `make run` and `make test`.
# Every target creates or updates the virtualenv first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR):$(CURDIR)/functions

# Locks: every direct and indirect dependency pinned with its hashes (`make lock` writes them
# from requirements.txt and requirements-dev.txt). functions/requirements.txt is the deploy
# source: Cloud Functions and the relay image install exactly it.
LOCK := functions/requirements.txt
DEV_LOCK := requirements-dev.lock
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock"

.PHONY: run test lint bench token venv clean check-emulators tfcheck deploy lock browser

# pip checks every file against the lock's hashes (--require-hashes); pip itself is in the lock.
$(STAMP): $(LOCK) $(DEV_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	touch $(STAMP)

venv: $(STAMP)

## Refresh both locks after editing requirements.txt or requirements-dev.txt (needs PyPI).
lock: $(STAMP)
	$(UV_COMPILE) requirements.txt -o $(LOCK)
	$(UV_COMPILE) requirements-dev.txt --constraint $(LOCK) -o $(DEV_LOCK)
	$(MAKE) venv

check-emulators:
	@$(BIN)/python -m infra.doctor

# Debian's Chromium and its WebDriver for the browser tests (tests/e2e/browser), installed
# with apt when missing (as root, or through sudo). Browsers are never downloaded otherwise.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
	  echo "installing Debian packages chromium and chromium-driver for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq -o DPkg::Lock::Timeout=600 && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
	    chromium chromium-driver >/dev/null; \
	fi

## Start the whole local stack (emulators, functions, relay, sandbox, console); Ctrl-C stops
## it. Service logs follow in the terminal; LOGS=all also shows the minutely sweeper's lines.
run: $(STAMP) check-emulators
	$(BIN)/python -m infra run $(if $(filter all,$(LOGS)),--all-logs)

## Unit, integration (emulators), end-to-end and browser tests; the session starts and stops
## the stack.
test: $(STAMP) check-emulators browser
	$(BIN)/python -m pytest --basetemp=.pytest-tmp

## ruff, mypy, the import contracts of pyproject.toml (docs/architecture.md), and checkov on
## terraform/ (see tfcheck).
lint: $(STAMP) tfcheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check functions infra tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

## Benchmarks (not part of `make test`): relay fan-out, end-to-end latency, what each operation
## costs in Google API calls, publishing throughput, a large fuzz round, media memory, the big
## chaos run, the api's edge (floods, waits, threads, rate-limit cost), webhook latency and
## throughput. The cost and throughput
## benches print main's recorded figures beside theirs.
bench: $(STAMP) check-emulators
	$(BIN)/python tests/bench/bench_relay.py
	$(BIN)/python tests/bench/bench_e2e.py
	$(BIN)/python tests/bench/bench_cost.py --compare tests/bench/baseline/cost_main.json
	$(BIN)/python tests/bench/bench_throughput.py --compare tests/bench/baseline/throughput_main.json
	$(BIN)/python tests/bench/bench_fuzz.py
	$(BIN)/python tests/bench/bench_media.py
	$(BIN)/python tests/bench/bench_chaos.py
	$(BIN)/python tests/bench/bench_edge.py
	$(BIN)/python tests/bench/bench_webhooks.py

## Print a dev JWT for USER (and ROLE) as the last line: make token USER=alice [ROLE=admin]
token: $(STAMP)
	@$(BIN)/python -m infra.token --user "$(USER)" --role "$(or $(ROLE),user)"

clean:
	rm -rf $(VENV) .stack .pytest_cache .mypy_cache .ruff_cache

# --- Terraform: static checks and deployment (README "Deployment") ---------------------------

TFVENV := .tfvenv
TFSTAMP := $(TFVENV)/.installed
TFVARS ?= terraform/example.tfvars
TF := terraform -chdir=terraform
# Extra flags for both applies (e.g. -auto-approve in CI). Empty: terraform asks before acting.
TF_APPLY_FLAGS ?=
# Read from $(TFVARS) only when deploy runs (recursively expanded).
DEPLOY_PROJECT = $(shell sed -n 's/^[[:space:]]*project_id[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' $(TFVARS))
DEPLOY_REGION = $(or $(shell sed -n 's/^[[:space:]]*region[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' $(TFVARS)),us-central1)
# The relay image is tagged with a hash of its source, so an unchanged source is not rebuilt.
RELAY_TAG = $(shell cd functions && find . -type f -not -path '*/__pycache__/*' -not -name '*.pyc' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
RELAY_IMAGE ?= $(DEPLOY_REGION)-docker.pkg.dev/$(DEPLOY_PROJECT)/sharecast/relay:$(RELAY_TAG)
# What must exist before the relay image can be built: APIs, the image repository, the source
# bucket and the builder account with its roles.
TF_BOOTSTRAP := -target=google_project_service.enabled \
	-target=google_artifact_registry_repository_iam_member.grant \
	-target=google_storage_bucket_iam_member.grant \
	-target=google_project_iam_member.grant

$(TFSTAMP):
	test -x $(TFVENV)/bin/python || $(PYTHON) -m venv $(TFVENV)
	$(TFVENV)/bin/python -m pip install --quiet --upgrade pip
	$(TFVENV)/bin/python -m pip install --quiet checkov==3.3.30
	touch $(TFSTAMP)

## checkov on terraform/ (its own virtualenv); every skip is justified inline in the .tf files.
tfcheck: $(TFSTAMP)
	$(TFVENV)/bin/checkov -d terraform --quiet --compact --framework terraform --skip-download

## Deploy to the project of TFVARS: make deploy TFVARS=terraform/prod.tfvars (needs gcloud,
## terraform and `gcloud auth application-default login`; terraform asks before each apply).
deploy:
	@command -v terraform >/dev/null || { echo "terraform is not installed"; exit 1; }
	@command -v gcloud >/dev/null || { echo "gcloud is not installed"; exit 1; }
	@test -n "$(DEPLOY_PROJECT)" || { echo "no project_id in $(TFVARS)"; exit 1; }
	$(TF) init -input=false
	@echo "== 1/3 bootstrap: APIs, image repository, buckets, service accounts and their roles"
	$(TF) apply $(TF_APPLY_FLAGS) -var-file=$(abspath $(TFVARS)) -var=relay_image=$(RELAY_IMAGE) $(TF_BOOTSTRAP)
	@echo "== 2/3 relay image $(RELAY_IMAGE)"
	gcloud artifacts docker images describe $(RELAY_IMAGE) --project=$(DEPLOY_PROJECT) >/dev/null 2>&1 \
	  || gcloud builds submit functions --project=$(DEPLOY_PROJECT) --region=$(DEPLOY_REGION) \
	       --config=cloudbuild.yaml \
	       --service-account=projects/$(DEPLOY_PROJECT)/serviceAccounts/sharecast-builder@$(DEPLOY_PROJECT).iam.gserviceaccount.com \
	       --gcs-source-staging-dir=gs://$(DEPLOY_PROJECT)-sharecast-source/relay-source \
	       --substitutions=_IMAGE=$(RELAY_IMAGE)
	@echo "== 3/3 everything"
	$(TF) apply $(TF_APPLY_FLAGS) -var-file=$(abspath $(TFVARS)) -var=relay_image=$(RELAY_IMAGE)
	$(TF) output
