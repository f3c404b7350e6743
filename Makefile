# certcenter — the two commands: `make run` starts the center with its demo world,
# `make test` runs the checks and the test suite. Both set up .venv on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck bench bench-compare clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/certcenter serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# certcenter next to cfssl (apt-get install golang-cfssl wrk; without them it says so)
bench-compare: $(STAMP)
	$(BIN)/python bench/compare.py

clean:
	rm -rf $(VENV) var demo-output .pytest_cache .mypy_cache .ruff_cache
