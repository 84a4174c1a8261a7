PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench clean

$(BIN)/contacts: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/contacts

run: $(BIN)/contacts
	$(BIN)/contacts --home . watch

test: $(BIN)/contacts
	$(BIN)/pytest -q -n 2

bench: $(BIN)/contacts
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.store_queries

clean:
	rm -rf $(VENV) build *.egg-info
