#!/usr/bin/env bash
# Runs a command (the cluster tier's vitest) inside a private network namespace, after building
# any missing test binaries outside it (the build needs the Go module proxy; the namespace has
# no route out).
#
# Inside: only `lo`, up, plus a local route for the pod network 10.244.0.0/16, so every pod IP
# KWOK hands out (--cidr=10.244.0.1/16) is an address local processes can bind and reach, and
# which the apiserver accepts in EndpointSlices (it refuses 127.0.0.0/8 there). Every port the
# tier opens lives in this namespace only and vanishes with it.
#
# As root: `unshare --net`; otherwise a user namespace maps the caller to root first
# (`unshare --user --map-root-user --net`), which needs unprivileged user namespaces.
set -euo pipefail

POD_CIDR=10.244.0.0/16

if [[ "${AGDR_TEST_NETNS:-}" != "1" ]]; then
  bash "$(dirname "$0")/../../tools/test-bin/build.sh"
  if [[ "$(id -u)" == "0" ]]; then
    flags=(--net)
  else
    flags=(--user --map-root-user --net)
  fi
  exec unshare "${flags[@]}" env AGDR_TEST_NETNS=1 bash "$0" "$@"
fi

ip link set lo up
ip route add local "$POD_CIDR" dev lo
exec "$@"
