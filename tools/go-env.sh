# Sourced by the tools' build scripts: sets GO (the toolchain: `go` on PATH, else
# /usr/local/go/bin/go) and CACHE (where test binaries are cached, outside the repository).
if command -v go >/dev/null 2>&1; then
  GO="$(command -v go)"
elif [ -x /usr/local/go/bin/go ]; then
  GO=/usr/local/go/bin/go
else
  echo "$0: no Go toolchain (looked on PATH and at /usr/local/go/bin/go)" >&2
  exit 1
fi
CACHE="${AGDR_TEST_BIN_CACHE:-$HOME/.cache/agdr-test-bin}"
