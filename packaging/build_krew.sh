#!/usr/bin/env bash
# Build krew and its manifest validator from the Go module proxy, for the
# packaging tests (tests/packaging/).  The binaries are cached outside the
# repo and reused:
#
#   ${KUBECTL_LBIP_KREW_CACHE:-~/.cache/kubectl-lbip-krew}/<version>/bin/{krew,validate-krew-manifest}
#
# Usage:
#   bash packaging/build_krew.sh              build (or reuse) the pinned krew
#   bash packaging/build_krew.sh --print-dir  print the bin directory; build nothing
#
# Needs Go (1.17+) and the Go module proxy; nothing else is downloaded.
set -euo pipefail

# v0.4.3 is the newest krew release the Go module proxy serves
# (`go list -m -versions sigs.k8s.io/krew`); later tags are refused there.
KREW_VERSION="${KREW_VERSION:-v0.4.3}"
KREW_MODULE="sigs.k8s.io/krew"
CACHE_ROOT="${KUBECTL_LBIP_KREW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-lbip-krew}"
DEST="$CACHE_ROOT/$KREW_VERSION"
BIN="$DEST/bin"

if [[ "${1:-}" == "--print-dir" ]]; then
    echo "$BIN"
    exit 0
fi

if [[ -x "$BIN/krew" && -x "$BIN/validate-krew-manifest" ]]; then
    echo "krew $KREW_VERSION: cached in $BIN"
    exit 0
fi

command -v go >/dev/null || { echo "build_krew.sh: go is not on PATH" >&2; exit 1; }

mkdir -p "$DEST"
tmp="$(mktemp -d "$DEST/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

start=$SECONDS
echo "krew $KREW_VERSION: building from the Go module proxy into $BIN ..."
# `go install module@version` needs no go.mod of ours and resolves exactly
# krew's own go.mod/go.sum (checked against the checksum database).
# The version is stamped the way krew's release build does it.
GOFLAGS="${GOFLAGS:-} -mod=mod" GOBIN="$tmp/bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X $KREW_MODULE/internal/version.gitTag=$KREW_VERSION" \
    "$KREW_MODULE/cmd/krew@$KREW_VERSION" \
    "$KREW_MODULE/cmd/validate-krew-manifest@$KREW_VERSION"

rm -rf "$BIN"
mv "$tmp/bin" "$BIN"
echo "krew $KREW_VERSION: built in $((SECONDS - start)) s"
"$BIN/krew" version 2>/dev/null | head -n 3 || true
