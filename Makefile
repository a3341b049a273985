# Two commands: `make demo` (install + demo) and `make test` (install + every check).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: install demo test lint test-fast test-durations ui clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: $(BIN)/uv pyproject.toml requirements.lock
	@echo "installing locked dependencies into $(VENV) ..."
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/outreach demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/outreach dbt parse --quiet
	$(BIN)/outreach sqlfluff

# The lint runs beside the suite (it is mostly sqlfluff's dbt templater, ~1.5 CPU-minutes;
# the suite's tail leaves a core idle); its output follows the suite's. The tests run in a
# shuffled order within each module (pytest-randomly): TEST_SEED picks it (printed in the
# header; `make test TEST_SEED=7` repeats another order, TEST_SEED=random a new one each run).
TEST_SEED ?= 20261205
PYTEST_ORDER = -p randomly $(if $(filter random,$(TEST_SEED)),,--randomly-seed=$(TEST_SEED))

test: install
	@lint_log=$$(mktemp); \
	{ $(MAKE) --no-print-directory lint > $$lint_log 2>&1; echo $$? > $$lint_log.rc; } & lint_pid=$$!; \
	rc=0; $(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder $(PYTEST_ORDER) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here" >&2; fi; \
	wait $$lint_pid; lint_rc=$$(cat $$lint_log.rc); \
	echo "== lint (exit $$lint_rc)"; cat $$lint_log; rm -f $$lint_log $$lint_log.rc; \
	[ $$rc -ne 0 ] || rc=$$lint_rc; exit $$rc

# Re-measure the seconds per test module that order the suite (longest first).
test-durations: install
	OUTREACH_RECORD_DURATIONS=1 $(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

ui: install
	$(BIN)/outreach ui

# Re-resolve the lock after changing pyproject.toml dependencies.
lock: $(BIN)/uv
	$(BIN)/uv pip compile --quiet --no-header --python 3.11 --extra dev pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs
