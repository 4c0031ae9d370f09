# movierec: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= $(abspath ../shared/data)
# An explicit data folder only where one exists: otherwise the loader uses its cache
# (~/.cache/movierec), else downloads ml-100k and checks it against its sha256.
DATA_ENV = $(if $(MOVIEREC_DATA_DIR),MOVIEREC_DATA_DIR=$(MOVIEREC_DATA_DIR),$(if $(wildcard $(DATA_DIR)/ml-100k/u.data),MOVIEREC_DATA_DIR=$(DATA_DIR),))

.PHONY: demo test test-fast lint format proto bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever a pyproject.toml changes. The SDK (./client, its own distribution
# movierec-client) is named in the same pip call as the server, which depends on it. The
# project's bytecode is compiled as a package install would, so that services start without
# compiling (PYTHONDONTWRITEBYTECODE).
$(VENV)/.installed: pyproject.toml client/pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./client -e '.[dev]'
	$(BIN)/python -m compileall -q movierec serving_service service_common client trainer_service
	touch $@

demo: $(VENV)/.installed
	$(DATA_ENV) PATH=$(abspath $(BIN)):$$PATH bash scripts/demo.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The Node.js client of tests/test_interop_node.py (skipped where node or npm is missing).
interop/node/node_modules: interop/node/package-lock.json
	@if command -v npm >/dev/null; then \
	  (cd interop/node && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) || rm -rf interop/node/node_modules; \
	else echo "npm not found: the Node.js interop test will be skipped"; fi

test: lint interop/node/node_modules
	MOVIEREC_DATA_DIR=$${MOVIEREC_DATA_DIR:-$(DATA_DIR)} $(BIN)/python -m pytest

# The fast loop: every test that fits no model and starts no process (those are marked
# slow or service in tests/ and run by `make test`). No lint, no npm.
test-fast: $(VENV)/.installed
	MOVIEREC_DATA_DIR=$${MOVIEREC_DATA_DIR:-$(DATA_DIR)} $(BIN)/python -m pytest -m "not slow and not service"

# Regenerates client/movierec_client/v1 from protos/ (tests/test_codegen.py fails when it is stale).
proto: $(VENV)/.installed
	$(BIN)/python scripts/codegen.py

bench: $(VENV)/.installed
	$(DATA_ENV) $(BIN)/python -m bench.serving_latency

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .demo
