#!/usr/bin/env bash
# Texture paint on the GPU machine: CUDA tests of the rasteriser, its 2048/1024 benchmark
# (parity with the compiled custom_rasterizer when that is installed), and the backend's
# per-profile benchmark with real architectures and random weights, measured through a real
# `meshpipe stage texture --backend hunyuan-paint` process over gRPC (one per configuration).
#
#   bash scripts/gpu/texture_gpu.sh            # everything (the paint benchmark takes long)
#   QUICK=1 bash scripts/gpu/texture_gpu.sh    # tests + rasteriser + paint at 10/10 steps
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}

"$PY" -m pytest -q -m gpu tests/unit/texture_paint
"$PY" benchmarks/rasterizer.py --device cuda --size 2048
"$PY" benchmarks/rasterizer.py --device cuda --size 1024
if [[ "${QUICK:-0}" == "1" ]]; then
  "$PY" -m scripts.gpu.texture_bench --profiles high,low --views 6,4 --sizes 2048,1024 \
    --delight-steps 10 --multiview-steps 10
else
  "$PY" -m scripts.gpu.texture_bench
fi
