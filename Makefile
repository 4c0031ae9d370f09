# movierec: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= $(abspath ../shared/data)

.PHONY: demo test lint format proto bench interop clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	MOVIEREC_DATA_DIR=$${MOVIEREC_DATA_DIR:-$(DATA_DIR)} PATH=$(abspath $(BIN)):$$PATH bash scripts/demo.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	MOVIEREC_DATA_DIR=$${MOVIEREC_DATA_DIR:-$(DATA_DIR)} $(BIN)/python -m pytest

# Regenerates movierec/v1 from protos/ (tests/test_codegen.py fails when it is stale).
proto: $(VENV)/.installed
	$(BIN)/python scripts/codegen.py

bench: $(VENV)/.installed
	MOVIEREC_DATA_DIR=$${MOVIEREC_DATA_DIR:-$(DATA_DIR)} $(BIN)/python -m bench.serving_latency

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .demo
