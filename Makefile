# The two commands of the README: `make run` (whole platform, embedded default) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-fast bench clients clean asyncapi constraints

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run the whole platform: broker + gateway + 4 services + SQLite under var/ + demo clients and data.
run: install
	$(BIN)/python -m devstack

## Install everything and run the full test suite (real broker, SQLite, PostgreSQL when it answers).
## Three workers: most of a test's time is spent waiting on brokers and consumer groups, not on CPU.
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 3 --dist loadfile

test-fast: install
	$(BIN)/python -m pytest -m "not e2e"

## Regenerate the AsyncAPI document from the event schemas in contracts/.
asyncapi: install
	$(BIN)/python -m contracts.asyncapi --write

clients: install
	$(BIN)/python -m gateway.cli list

clean:
	rm -rf var .pytest_cache

## Re-pin the versions tested together after changing dependencies in pyproject.toml.
constraints: install
	echo "# Versions tested together (pip constraints). Regenerate: make constraints" > constraints.txt
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^anzexian' >> constraints.txt
