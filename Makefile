# Sharecast — the two commands a newcomer needs are `make run` and `make test`.
# Every target creates or updates the virtualenv first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR):$(CURDIR)/functions

.PHONY: run test lint bench token venv clean check-emulators

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

check-emulators:
	@$(BIN)/python -m infra.doctor

## Start the whole local stack (emulators, functions, relay, sandbox); Ctrl-C stops it.
run: $(STAMP) check-emulators
	$(BIN)/python -m infra run

## Unit, integration (emulators) and end-to-end tests; the session starts and stops the stack.
test: $(STAMP) check-emulators
	$(BIN)/python -m pytest

## ruff and mypy.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check functions infra tests
	$(BIN)/mypy

## Benchmarks (not part of `make test`): relay fan-out and end-to-end latency.
bench: $(STAMP) check-emulators
	$(BIN)/python tests/bench/bench_relay.py
	$(BIN)/python tests/bench/bench_e2e.py

## Print a dev JWT for USER (and ROLE) as the last line: make token USER=alice [ROLE=admin]
token: $(STAMP)
	@$(BIN)/python -m infra.token --user "$(USER)" --role "$(or $(ROLE),user)"

clean:
	rm -rf $(VENV) .stack .pytest_cache .mypy_cache .ruff_cache
