#!/usr/bin/env bash
# Build the local base image of every meshpipe service without any container registry:
# Debian bookworm (minbase) + python3.11 + venv, made with debootstrap and `docker import`.
#
#   deploy/docker/build-base.sh [TAG]          (default meshpipe-base:bookworm-py3.11)
#
# Cached in $MESHPIPE_DEPLOY_CACHE (default ~/.cache/meshpipe-deploy): the root file system
# tarball is kept, so a second run on the same machine only re-imports it (or does nothing
# when the engine already has the image). Needs root, debootstrap and a Debian mirror
# ($MESHPIPE_DEBIAN_MIRROR) the first time only.
set -euo pipefail

TAG=${1:-meshpipe-base:bookworm-py3.11}
CACHE=${MESHPIPE_DEPLOY_CACHE:-$HOME/.cache/meshpipe-deploy}
MIRROR=${MESHPIPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
TARBALL="$CACHE/base/rootfs-$SUITE-minbase-python3.tar"

log() { echo "[build-base] $*" >&2; }

if docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG already in the engine"
  exit 0
fi

if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { log "debootstrap missing: apt-get install -y debootstrap"; exit 1; }
  mkdir -p "$CACHE/base"
  rootfs=$(mktemp -d "$CACHE/base/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap $SUITE (minbase + python3, python3-venv) from $MIRROR"
  debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; exit 1; }
  rm -f "$rootfs.log"
  # Package caches, lists, docs and locales are dead weight in a service image.
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/* "$rootfs"/tmp/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
  chmod 0755 "$rootfs"
  tar --numeric-owner -C "$rootfs" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
fi

log "importing $TARBALL as $TAG"
docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  "$TARBALL" "$TAG" >/dev/null
docker run --rm --network none "$TAG" python3 -c 'import sys, venv; print("base python", sys.version.split()[0])' >&2
