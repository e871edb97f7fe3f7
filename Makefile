# The two commands of the README: `make run` (whole platform, embedded default) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install browser run test test-fast bench faults access-matrix clients clean asyncapi constraints

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Debian's Chromium for the dashboard's browser test (skipped with a reason where it cannot be installed).
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
		|| echo "chromium could not be installed: the browser test will be skipped"; \
	fi

## Run the whole platform: broker + gateway + 4 services + SQLite under var/ + demo clients and data.
run: install
	$(BIN)/python -m devstack

## Install everything and run the full test suite (real broker, SQLite, PostgreSQL when it answers).
## Three workers: most of a test's time is spent waiting on brokers and consumer groups, not on CPU.
test: install browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 3 --dist loadfile

test-fast: install
	$(BIN)/python -m pytest -m "not e2e"

## Benchmarks, each figure beside a baseline measured in the same run (bench/results/report.{json,md}).
bench: install
	$(BIN)/python -m bench.run

## Fault injection: 10,000 operations while the broker is cut, services are SIGKILLed and PostgreSQL
## restarts, then a reconciliation of every source database with the hub (bench/results/faults.{json,md}).
faults: install
	$(BIN)/python -m bench.faults

## Regenerate the AsyncAPI document from the event schemas in contracts/.
asyncapi: install
	$(BIN)/python -m contracts.asyncapi --write

## Regenerate docs/access-matrix.md (who may call what) from the code.
access-matrix: install
	$(BIN)/python -m devstack.access_matrix --write

clients: install
	$(BIN)/python -m gateway.cli list

clean:
	rm -rf var .pytest_cache

## Re-pin the versions tested together after changing dependencies in pyproject.toml.
constraints: install
	echo "# Versions tested together (pip constraints). Regenerate: make constraints" > constraints.txt
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^anzexian' >> constraints.txt
