# The handful of targets people type. Everything installs into .venv.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
U2NET_HOME ?= $(HOME)/.u2net
IMAGE ?= examples/coffee.jpg
OUT ?= out
# The studio page's 3D viewer, from the npm registry (integrity-checked; never committed).
MODEL_VIEWER_VERSION ?= 4.4.0
MODEL_VIEWER_DIR ?= gateway/vendor/model-viewer

.PHONY: bench-gateway bench-load model-viewer setup setup-ml demo run test test-docker unit lint proto proto-check bench images up down clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# venv + the project with every stage's extras + dev tools + the embedded default's weights.
setup: $(BIN)/python model-viewer
	$(BIN)/pip install --quiet -e ".[all,dev]"
	$(BIN)/meshpipe weights fetch-default --dir "$(U2NET_HOME)"

# @google/model-viewer for the gateway's studio page (needs npm; see docs/gateway.md).
model-viewer: $(MODEL_VIEWER_DIR)/model-viewer.min.js

$(MODEL_VIEWER_DIR)/model-viewer.min.js:
	bash scripts/fetch_model_viewer.sh $(MODEL_VIEWER_VERSION) $(MODEL_VIEWER_DIR)

# + what the production backends' CPU tests need (tiny models, no hub). torch 2.13.0 is the
# CPU build on this project's machines; hy3dgen must come without its own requirements.
setup-ml: setup
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet torchvision==0.28.0 --no-deps
	$(BIN)/pip install --quiet -e ".[all,production,dev]"
	$(BIN)/pip install --quiet hy3dgen==2.0.2 --no-deps

# The main job on the embedded default: no GPU, no model hub.
demo: setup run

run:
	$(BIN)/meshpipe run $(IMAGE) --out $(OUT)

# Lint, type-check, stale-stub check, then the whole test suite.
test: setup-ml lint proto-check
	$(BIN)/python -m pytest -q

# The container proof (needs root: installs docker.io, starts and stops dockerd itself).
test-docker: setup
	bash scripts/ci_docker.sh

unit:
	$(BIN)/python -m pytest -q tests/unit

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

proto:
	PYTHON=$(BIN)/python scripts/gen_proto.sh

proto-check:
	PYTHON=$(BIN)/python scripts/gen_proto.sh --check

bench:
	$(BIN)/python benchmarks/pipeline_overhead.py

# HTTP gateway vs gRPC, event delivery, first viewer in headless Chromium (needs chromium)
bench-gateway:
	$(BIN)/python benchmarks/gateway_overhead.py

# Load (burst + steady stream + a huge PNG; ~5-8 min on 2 cores) and first-job/cold-start figures.
bench-load:
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/first_job.py

images: setup
	bash deploy/docker/build-images.sh

up:
	$(BIN)/meshpipe up

down:
	$(BIN)/meshpipe down

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
