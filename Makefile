# The handful of targets people type. Everything installs into .venv.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
U2NET_HOME ?= $(HOME)/.u2net
IMAGE ?= examples/coffee.jpg
OUT ?= out

.PHONY: setup demo run test unit lint proto proto-check bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# venv + the project with every stage's extras + dev tools + the embedded default's weights.
setup: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[all,dev]"
	$(BIN)/meshpipe weights fetch-default --dir "$(U2NET_HOME)"

# The main job on the embedded default: no GPU, no model hub.
demo: setup run

run:
	$(BIN)/meshpipe run $(IMAGE) --out $(OUT)

# Lint, type-check, stale-stub check, then the whole test suite.
test: setup lint proto-check
	$(BIN)/python -m pytest -q

unit:
	$(BIN)/python -m pytest -q tests/unit

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

proto:
	PYTHON=$(BIN)/python scripts/gen_proto.sh

proto-check:
	PYTHON=$(BIN)/python scripts/gen_proto.sh --check

bench:
	$(BIN)/python benchmarks/pipeline_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
