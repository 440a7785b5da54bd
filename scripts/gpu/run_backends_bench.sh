#!/usr/bin/env bash
# Production-backend GPU benchmark (scripts/gpu/backends_bench.py) on the GPU machine.
#
# The GPU machine reaches no registry and already has torch, torchvision, transformers,
# accelerate, safetensors, einops, opencv, scikit-image, numba, nvidia-ml-py, onnxruntime
# (CPU); the rest travels as wheels (Python 3.12, manylinux x86-64) with u2netp.onnx:
#
#   here:   bash scripts/gpu/run_backends_bench.sh --download .whl      # ~25 MB
#   there:  WHEELHOUSE=.whl bash scripts/gpu/run_backends_bench.sh [backends_bench.py args]
#
# (with the device tool: name .whl in `carry`; its folder must be ignored by git.)
# BIG=1 --download adds pymeshlab (106 MB) and onnxruntime-gpu (~250 MB), over the device
# tool's 64 MiB carry limit: without pymeshlab the shape runs have post-processing off
# (a stand-in module satisfies hy3dgen's import), without onnxruntime-gpu rembg runs on
# the CPU (its BackendInfo says so). Without WHEELHOUSE everything comes from PyPI.
# BiRefNet needs its code folder (config.json + birefnet.py + BiRefNet_config.py, no
# weights: random ones are saved on the GPU machine): pass --birefnet-code DIR, carried
# like the wheels. Its published code needs the transformers-5 fixes of docs/backends.md.
# QUICK=1 measures shape v2-mini and the detector at profiles high and minimal only.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}

# Pinned to what the CPU suite runs (meshpipe's stubs need grpcio 1.85.1, protobuf >= 7.35).
WHEELS=(
  grpcio==1.85.1 grpcio-health-checking==1.85.1 protobuf==7.36.2
  pydantic==2.14.3 pydantic-core==2.50.4 pydantic-settings==2.16.3 python-dotenv==1.2.4
  typing-inspection==0.4.5 annotated-types==0.8.0 prometheus-client
  diffusers==0.42.1 importlib-metadata==10.2.0 hy3dgen==2.0.2 trimesh==5.2.0 rembg==2.0.86 pymatting==1.1.16 pooch==1.9.0 platformdirs==4.14.7
  jsonschema==4.26.0 jsonschema-specifications referencing==0.37.0 rpds-py
  kornia==0.9.0 kornia-rs==0.2.0  # BiRefNet's code imports kornia (timm is there already)
  grpcio-status==1.85.1 grpcio-reflection==1.85.1 googleapis-common-protos==1.76.0
  cryptography==50.0.2 pillow-heif==1.9.0  # the interceptor, reflection, TLS, HEIC
  xatlas==0.0.11 fast-simplification==0.2.0  # texture's UV atlas, shape's decimation
)
BIG_WHEELS=(pymeshlab==2025.7.post1 onnxruntime-gpu)

if [[ "${1:-}" == "--download" ]]; then
  dest=${2:?usage: run_backends_bench.sh --download DIR}
  mkdir -p "$dest"
  [[ "${BIG:-0}" == "1" ]] && WHEELS+=("${BIG_WHEELS[@]}")
  "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$dest" "${WHEELS[@]}"
  cp ~/.u2net/u2netp.onnx "$dest"/ 2>/dev/null || echo "no ~/.u2net/u2netp.onnx: run 'meshpipe weights fetch-default' first"
  cp ~/.u2net/u2net.onnx "$dest"/ 2>/dev/null || true
  exit 0
fi

SITE=${SITE:-/tmp/meshpipe-site}
if [[ -n "${WHEELHOUSE:-}" ]]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELHOUSE"/*.whl
  export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
  U2NET_DIR=${U2NET_DIR:-$WHEELHOUSE}
else
  "$PY" -m pip install -q "${WHEELS[@]}" "${BIG_WHEELS[@]}" -e ".[detector,matting,shape]"
  U2NET_DIR=${U2NET_DIR:-$HOME/.u2net}
fi

if ! "$PY" -c "import pymeshlab" 2>/dev/null; then
  stub=/tmp/meshpipe-stubs/pymeshlab
  mkdir -p "$stub"
  cat >"$stub/__init__.py" <<'PYSTUB'
"""Stand-in for pymeshlab, which was not carried: hy3dgen.shapegen imports it at import
time; this run has shape post-processing off, so none of it is ever called."""
MeshSet = Mesh = PercentageValue = PureValue = Percentage = type("Unavailable", (), {})
PYSTUB
  export PYTHONPATH="/tmp/meshpipe-stubs:${PYTHONPATH:-}"
  export MESHPIPE_SHAPE_POSTPROCESS=false
  echo "pymeshlab not installed: shape post-processing is OFF in this run"
fi

"$PY" -c "import torch, hy3dgen, transformers, meshpipe; assert torch.cuda.is_available(), 'no GPU'; print(torch.cuda.get_device_name(0), torch.__version__, transformers.__version__)"
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv || true

EXTRA=()
if [[ "${QUICK:-0}" == "1" ]]; then
  EXTRA=(--stages detector,shape --variants v2-mini --profiles high,minimal --repeats 2)
fi
PYTHONUNBUFFERED=1 "$PY" -m scripts.gpu.backends_bench --u2net-dir "$U2NET_DIR" "${EXTRA[@]}" "$@"
