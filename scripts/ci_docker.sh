#!/usr/bin/env bash
# CI proof of the container deployment on a real Docker engine (called from .ci/run):
#   1. install docker.io + debootstrap if missing, start dockerd (stopped by PID on exit,
#      also on failure) unless an engine already answers;
#   2. build the local base (debootstrap + docker import) and the service images from the
#      local wheelhouse, with no network inside the builds;
#   3. `meshpipe up` with ephemeral host ports; tests/deploy/test_docker_e2e.py submits a
#      real job to the published orchestrator, checks the GLBs, scrapes every container's
#      /metrics and kills a stage container mid-job (the job still completes);
#   4. `meshpipe down` and check that no container or network of the project is left.
# Caches (base tarball, wheelhouse, weights) live in $MESHPIPE_DEPLOY_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
MESHPIPE=(.venv/bin/meshpipe)
PROJECT=${MESHPIPE_CI_PROJECT:-meshpipe-ci}
CACHE=${MESHPIPE_DEPLOY_CACHE:-$HOME/.cache/meshpipe-deploy}
export MESHPIPE_DEPLOY_CACHE=$CACHE
WORK=$(mktemp -d /tmp/meshpipe-ci-docker.XXXXXX)
DOCKERD_PID=""
UP=0
T0=$(date +%s)

log() { echo "[ci-docker +$(($(date +%s) - T0))s] $*" >&2; }

cleanup() {
  local rc=$?
  if [ "$UP" = 1 ]; then
    "${MESHPIPE[@]}" down --project "$PROJECT" --volumes >/dev/null 2>&1 || true
  fi
  if [ -n "$DOCKERD_PID" ]; then
    log "stopping dockerd (pid $DOCKERD_PID)"
    kill "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
    kill -9 "$DOCKERD_PID" 2>/dev/null || true
  fi
  [ "$rc" = 0 ] || { log "FAILED (exit $rc); dockerd log tail:"; tail -20 "$WORK/dockerd.log" 2>/dev/null || true; }
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

start_engine() {
  if docker info >/dev/null 2>&1; then
    log "using the running Docker engine"
    return
  fi
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    log "installing docker.io and debootstrap"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
  fi
  dockerd >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { log "dockerd up (pid $DOCKERD_PID)"; return; }
    kill -0 "$DOCKERD_PID" 2>/dev/null || { log "dockerd exited"; return 1; }
    sleep 1
  done
  log "dockerd did not answer in 60 s"
  return 1
}

start_engine
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null

log "building images"
deploy/docker/build-images.sh 2>&1 | grep -v -e '^DEPRECATED' -e 'legacy builder' -e 'buildx' -e '^ *$' >&2

WEIGHTS="$CACHE/weights"
"${MESHPIPE[@]}" weights fetch-default --dir "$WEIGHTS" >/dev/null
chmod -R a+rX "$WEIGHTS"

log "meshpipe up"
UP=1
up=("${MESHPIPE[@]}" up --project "$PROJECT" --port 0 --http-port 0 --metrics-base-port 0 --weights-dir "$WEIGHTS" --timeout 300)
"${up[@]}"
ids() { docker ps -aq --no-trunc --filter "label=io.meshpipe.project=$PROJECT" | sort; }
before=$(ids)
"${up[@]}" >/dev/null
[ "$before" = "$(ids)" ] || { log "a second 'meshpipe up' recreated containers"; exit 1; }
log "second up kept all $(echo "$before" | wc -l) containers"

log "end-to-end tests against the containers"
MESHPIPE_E2E_PROJECT=$PROJECT "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_docker_e2e.py

log "meshpipe down"
"${MESHPIPE[@]}" down --project "$PROJECT" --volumes
UP=0
left_containers=$(docker ps -aq --filter "label=io.meshpipe.project=$PROJECT" | wc -l)
left_networks=$(docker network ls -q --filter "label=io.meshpipe.project=$PROJECT" | wc -l)
left_volumes=$(docker volume ls -q --filter "label=io.meshpipe.project=$PROJECT" | wc -l)
if [ "$left_containers$left_networks$left_volumes" != 000 ]; then
  log "left behind: $left_containers containers, $left_networks networks, $left_volumes volumes"
  exit 1
fi
log "nothing left behind; done in $(($(date +%s) - T0)) s"
