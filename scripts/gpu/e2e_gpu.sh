#!/usr/bin/env bash
# The end-to-end benchmark (python -m scripts.gpu.e2e_bench) on a CUDA machine without a registry:
# wheels (Python 3.12, manylinux x86-64) and u2netp.onnx travel in a wheelhouse folder.
#
#   here:   bash scripts/gpu/run_backends_bench.sh --download WHEELHOUSE
#   there:  WHEELHOUSE=DIR bash scripts/gpu/e2e_gpu.sh OUT [e2e_bench.py args]
#   then:   python -m benchmarks.e2e_report OUT --save benchmarks/results/gpu/e2e_<gpu>
#
# Without pymeshlab (106 MB, over the device tool's carry limit) a stand-in module satisfies
# hy3dgen's import and shape post-processing is off, on both policies alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
SITE=${SITE:-/tmp/meshpipe-site}
out=${1:?usage: e2e_gpu.sh OUT [e2e_bench.py args]}
shift
if [[ -n "${WHEELHOUSE:-}" && ! -f "$SITE/.installed" ]]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELHOUSE"/*.whl
  # .pyc files now, in parallel, not during the first measured import (errors: py2 files)
  "$PY" -m compileall -q -j 0 "$SITE" >/dev/null 2>&1 || true
  touch "$SITE/.installed"
fi
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import pymeshlab" 2>/dev/null; then
  stub=/tmp/meshpipe-stubs/pymeshlab
  mkdir -p "$stub"
  cat >"$stub/__init__.py" <<'PYSTUB'
"""Stand-in for pymeshlab (not carried): hy3dgen.shapegen imports it; post-processing is off."""
MeshSet = Mesh = PercentageValue = PureValue = Percentage = type("Unavailable", (), {})
PYSTUB
  export PYTHONPATH="/tmp/meshpipe-stubs:$PYTHONPATH"
  export MESHPIPE_SHAPE_POSTPROCESS=false
fi
"$PY" -m scripts.gpu.e2e_bench --out "$out" --u2net-dir "${WHEELHOUSE:-$HOME/.u2net}" "$@"
