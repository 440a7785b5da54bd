#!/usr/bin/env bash
# Build the service images (meshpipe-<service>:$TAG) from a local base image and a local
# wheelhouse; nothing inside the builds touches a network.
#
#   deploy/docker/build-images.sh [SERVICE...]     (default: every image in meshpipe/catalogue.py)
#
# Environment:
#   BASE_IMAGE   base with python3 + venv (default meshpipe-base:bookworm-py3.11; built by
#                build-base.sh when it is that default and missing)
#   TAG          image tag (default dev)
#   PYTHON       interpreter that builds the wheelhouse; must match the base's Python
#                (default .venv/bin/python)
#   OFFLINE=1    never use the package index (the cached wheelhouse must be complete)
#   MESHPIPE_DEPLOY_CACHE  cache folder (default ~/.cache/meshpipe-deploy)
set -euo pipefail
cd "$(dirname "$0")/../.."

DEFAULT_BASE=meshpipe-base:bookworm-py3.11
BASE_IMAGE=${BASE_IMAGE:-$DEFAULT_BASE}
TAG=${TAG:-dev}
PYTHON=${PYTHON:-.venv/bin/python}
CONTEXT=build/docker-context
log() { echo "[build-images] $*" >&2; }

# Image target -> the pyproject extra it installs, from the stage catalogue
# (meshpipe/catalogue.py; the arbiter ships in the orchestrator's package).
declare -A EXTRAS_OF=()
ALL_SERVICES=()
while read -r target extra; do
  EXTRAS_OF[$target]=$extra
  ALL_SERVICES+=("$target")
done < <("$PYTHON" deploy/docker/wheelhouse.py --list-images)
[ ${#ALL_SERVICES[@]} -gt 0 ] || { log "could not read the stage catalogue with $PYTHON"; exit 1; }
SERVICES=("$@")
[ ${#SERVICES[@]} -gt 0 ] || SERVICES=("${ALL_SERVICES[@]}")
for service in "${SERVICES[@]}"; do
  [ -n "${EXTRAS_OF[$service]:-}" ] || { log "unknown service $service (known: ${ALL_SERVICES[*]})"; exit 1; }
done

docker version --format '{{.Server.Version}}' >/dev/null 2>&1 \
  || { log "Docker engine not reachable (is dockerd running?)"; exit 1; }

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  if [ "$BASE_IMAGE" = "$DEFAULT_BASE" ]; then
    deploy/docker/build-base.sh "$BASE_IMAGE"
  else
    log "base image $BASE_IMAGE not found (docker pull/load it first)"
    exit 1
  fi
fi

pyver='import sys; print("%d.%d" % sys.version_info[:2])'
base_py=$(docker run --rm --network none --entrypoint python3 "$BASE_IMAGE" -c "$pyver")
host_py=$("$PYTHON" -c "$pyver")
if [ "$base_py" != "$host_py" ]; then
  log "wheelhouse Python $host_py ($PYTHON) does not match $BASE_IMAGE's Python $base_py:"
  log "set PYTHON to a python$base_py interpreter with pip"
  exit 1
fi

offline=()
[ "${OFFLINE:-0}" = 1 ] && offline=(--offline)
# The studio page's model-viewer goes into the project wheel (npm registry, integrity-checked).
make --no-print-directory model-viewer
"$PYTHON" deploy/docker/wheelhouse.py --context "$CONTEXT" "${offline[@]}"

for service in "${SERVICES[@]}"; do
  start=$(date +%s)
  log "building meshpipe-$service:$TAG on $BASE_IMAGE"
  docker build --quiet --network none -f deploy/docker/Dockerfile \
    --target "$service" --build-arg SERVICE="$service" --build-arg EXTRAS="${EXTRAS_OF[$service]}" \
    --build-arg BASE_IMAGE="$BASE_IMAGE" \
    --label io.meshpipe.base="$BASE_IMAGE" \
    -t "meshpipe-$service:$TAG" "$CONTEXT" >/dev/null
  size=$(docker image inspect --format '{{.Size}}' "meshpipe-$service:$TAG")
  log "meshpipe-$service:$TAG: $((size / 1024 / 1024)) MiB in $(($(date +%s) - start)) s"
done
