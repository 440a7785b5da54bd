#!/usr/bin/env bash
# Regenerate the Python stubs of proto/meshpipe/v1 into meshpipe/v1 (never edit those by hand).
# With --check, generate into a temporary folder and fail if meshpipe/v1 differs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
out=.
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/meshpipe/v1"
"$PY" -m grpc_tools.protoc -I proto \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  proto/meshpipe/v1/*.proto
cat > "$out/meshpipe/v1/__init__.py" <<'PYEOF'
"""Generated protobuf and gRPC stubs of proto/meshpipe/v1. Do not edit: run `make proto`."""
PYEOF
if [ "${1:-}" = "--check" ]; then
  if ! diff -r -q "$out/meshpipe/v1" meshpipe/v1 -x __pycache__; then
    echo "generated stubs in meshpipe/v1 are stale: run 'make proto' and commit" >&2
    exit 1
  fi
  echo "generated stubs are up to date"
fi
