PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench clean browser

$(BIN)/contacts: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/contacts

run: $(BIN)/contacts
	$(BIN)/contacts --home . serve --watch

test: $(BIN)/contacts browser
	$(BIN)/pytest -q -n 2

# The browser tests drive Debian's chromium; installed here when missing and this is root (as in CI), else they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing chromium for the browser tests..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed; the browser tests will be skipped."; \
	  else echo "chromium is not installed; the browser tests will be skipped."; fi; }

bench: $(BIN)/contacts
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.store_queries
	$(BIN)/python -m bench.web

clean:
	rm -rf $(VENV) build *.egg-info
