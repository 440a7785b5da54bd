#!/usr/bin/env bash
# Vendor @google/model-viewer for the studio page from the npm registry (never a CDN):
# `npm pack` the pinned version, check the tarball against the registry's dist.integrity
# (SRI sha512), then extract its bundled dist/model-viewer.min.js (three.js included) and
# LICENSE into DEST. Used by `make model-viewer` (which `make setup` runs) and the image build.
set -euo pipefail
VERSION="${1:?usage: fetch_model_viewer.sh VERSION DEST}"
DEST="${2:?usage: fetch_model_viewer.sh VERSION DEST}"
PACKAGE="@google/model-viewer@${VERSION}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
expected="$(npm view "$PACKAGE" dist.integrity)"
tarball="$(cd "$work" && npm pack --silent "$PACKAGE" | tail -n 1)"
actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
if [[ "$expected" != "$actual" ]]; then
  echo "fetch_model_viewer: integrity mismatch for $PACKAGE: registry $expected, tarball $actual" >&2
  exit 1
fi
tar -xzf "$work/$tarball" -C "$work" package/dist/model-viewer.min.js package/LICENSE
mkdir -p "$DEST"
cp "$work/package/dist/model-viewer.min.js" "$work/package/LICENSE" "$DEST/"
echo "$PACKAGE $actual" > "$DEST/VERSION"
echo "model-viewer ${VERSION} -> $DEST (integrity $actual)"
