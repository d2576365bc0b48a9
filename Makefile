# Two entry points on a fresh machine: `make serve` and `make test`.
# Each creates .venv (Python 3.11+) and installs the project before running.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

.PHONY: install serve test bench fuzz
install: $(STAMP)

serve: $(STAMP)
	$(BIN)/validator serve

test: $(STAMP)  # formatting, lint and types first: each must pass before the suite runs
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)  # make bench BENCH_ARGS='--quick --markdown'
	$(BIN)/python -m bench $(BENCH_ARGS)

fuzz: $(STAMP)  # hostile input at every endpoint, longer than `make test` runs it (FUZZ_ARGS='--quick')
	$(BIN)/python -m bench hostile $(FUZZ_ARGS)
