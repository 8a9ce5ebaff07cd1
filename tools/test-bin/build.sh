#!/usr/bin/env bash
# Builds the real servers the cluster test tier runs (Kubernetes control plane, etcd, KWOK,
# Vault, helm) from Go modules, each from its wrapper module in tools/test-bin/<name>/.
# Binaries are cached outside the repository under
#   ${AGDR_TEST_BIN_CACHE:-$HOME/.cache/agdr-test-bin}/<name>-<version>/
# and a component is built only when its directory is missing or was built from a different
# go.mod/go.sum/ldflags (a stamp file records their hash), so warm runs build nothing.
#
# Usage: tools/test-bin/build.sh [--print-dir] [name...]   (names default to all components)
# Go: `go` on PATH, else /usr/local/go/bin/go. Builds run under `nice -n 10`.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

# shellcheck source=tools/go-env.sh
. "$here/../go-env.sh"
cache="$CACHE"

# name | version (cache directory suffix) | binaries (the `tool` directives of the module;
# `final=built` renames a binary that go names after its package directory)
components=(
  "etcd|v3.6.16|etcd=server"
  "kubernetes|v1.34.4|kube-apiserver kube-controller-manager kube-scheduler kubectl"
  "kwok|v0.7.0|kwok"
  "vault|v1.21.0|vault"
  "helm|v3.19.0|helm"
)

ldflags_for() {
  local name="$1" version="$2"
  case "$name" in
    kubernetes)
      # /version must report the real release: helm's kubeVersion checks read it.
      local minor major build_date
      major="${version#v}"
      major="${major%%.*}"
      minor="$(echo "$version" | cut -d. -f2)"
      build_date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$("$GO" env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$version.info" 2>/dev/null || true)"
      local flags="-s -w"
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=${KUBE_GIT_COMMIT:-}"
        flags+=" -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
      done
      echo "$flags"
      ;;
    etcd | kwok | vault) echo "-s -w" ;;
    helm)
      # As helm's Makefile does: its default capabilities (`helm template` without a cluster)
      # follow the client-go minor it is built with, not the library's fallback of 1.20.
      local k8s_minor
      k8s_minor="$(sed -n 's/^\s*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$here/helm/go.mod")"
      local flags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
      flags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
      for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
        flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
      done
      echo "$flags"
      ;;
  esac
}

stamp_of() {
  { cat "$here/$1/go.mod" "$here/$1/go.sum"; ldflags_for "$1" "$2"; } | sha256sum | cut -c1-16
}

build_one() {
  local name="$1" version="$2" bins="$3"
  local dir="$cache/$name-$version" stamp
  stamp="$(stamp_of "$name" "$version")"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
    local ok=1
    for b in $bins; do [ -x "$dir/${b%%=*}" ] || ok=0; done
    if [ "$ok" = 1 ]; then
      echo "== $name $version: cached in $dir"
      return 0
    fi
  fi
  echo "== $name $version: building into $dir"
  local start tmp
  start=$(date +%s)
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.build-$name-XXXXXX")"
  # Build all tools of the module in one go invocation so shared packages compile once.
  (
    cd "$here/$name"
    GOFLAGS=-mod=readonly CGO_ENABLED=0 nice -n 10 "$GO" build -trimpath \
      -ldflags "$(ldflags_for "$name" "$version")" -o "$tmp/" tool
  ) || {
    rm -rf "$tmp"
    echo "build.sh: building $name failed" >&2
    return 1
  }
  for b in $bins; do
    local final="${b%%=*}" built="${b#*=}"
    [ -x "$tmp/$built" ] || { echo "build.sh: $name built no $built" >&2; rm -rf "$tmp"; return 1; }
    [ "$final" = "$built" ] || mv "$tmp/$built" "$tmp/$final"
  done
  echo "$stamp" >"$tmp/.stamp"
  chmod 755 "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  echo "== $name $version: built in $(($(date +%s) - start))s, $(du -sh "$dir" | cut -f1)"
}

print_dir=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --print-dir) print_dir=1 ;;
    *) wanted+=("$arg") ;;
  esac
done

for entry in "${components[@]}"; do
  IFS='|' read -r name version bins <<<"$entry"
  if [ "${#wanted[@]}" -gt 0 ]; then
    match=0
    for w in "${wanted[@]}"; do [ "$w" = "$name" ] && match=1; done
    [ "$match" = 1 ] || continue
  fi
  if [ "$print_dir" = 1 ]; then
    echo "$name=$cache/$name-$version"
  else
    build_one "$name" "$version" "$bins"
  fi
done
