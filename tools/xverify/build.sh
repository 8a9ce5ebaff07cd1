#!/usr/bin/env bash
# Builds xverify (the independent Go verifier of AgDR proofs and checkpoints) and prints the
# path of the binary on stdout. The binary is cached outside the repository under
#   ${AGDR_TEST_BIN_CACHE:-$HOME/.cache/agdr-test-bin}/xverify-<hash of go.mod, go.sum, this script, *.go>/
# and built only when that directory has no binary, so a warm run builds nothing.
# Go: `go` on PATH, else /usr/local/go/bin/go. The build runs under `nice -n 10`, with
# GOFLAGS=-mod=mod so a fresh machine fetches the modules go.sum pins from the module proxy.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

# shellcheck source=tools/go-env.sh
. "$here/../go-env.sh"
cache="$CACHE"

stamp="$(cd "$here" && cat go.mod go.sum build.sh $(ls ./*.go | sort) | sha256sum | cut -c1-16)"
dir="$cache/xverify-$stamp"
bin="$dir/xverify"

if [ ! -x "$bin" ]; then
  echo "== xverify: building into $dir" >&2
  start=$(date +%s)
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.build-xverify-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$here" && GOFLAGS="-mod=mod -buildvcs=false" nice -n 10 "$GO" build -trimpath -o "$tmp/xverify" .) >&2
  # Rename into place so a concurrent or interrupted build never leaves a half-written binary.
  mkdir -p "$dir"
  mv "$tmp/xverify" "$bin.tmp.$$"
  mv -f "$bin.tmp.$$" "$bin"
  echo "== xverify: built in $(($(date +%s) - start)) s" >&2
fi
echo "$bin"
