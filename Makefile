# Milkbot's two everyday commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BENCHES := ledger decide soak replay api

.PHONY: install dev demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/milkbot demo

test: dev
	@scripts/ensure-postgres
	@scripts/ensure-chromium
	$(BIN)/python -m pytest

bench: dev
	@scripts/ensure-postgres
	@for b in $(BENCHES); do $(BIN)/python -m bench.$$b || exit 1; done

lint: dev
	$(BIN)/ruff check .
	$(BIN)/mypy domain eventstore projections replay milkbot api

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
