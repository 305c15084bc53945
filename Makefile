# The two commands: `make run` (install, migrate, seed demo data, serve) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: install run test bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/activate
	$(BIN)/pip install -q -e '.[test]'

run: install
	$(BIN)/cme-server demo

test: install
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench.sync_bench

clean:
	rm -rf $(VENV) instance .pytest_cache
