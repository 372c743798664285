#!/usr/bin/env bash
# Prints the path of the staticcheck binary pinned in hack/tools/staticcheck,
# building it once into a cache outside the checkout (keyed by the pinned
# go.mod/go.sum and the Go version), under a lock so builds never run in parallel.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tool="$root/hack/tools/staticcheck"
stamp=$( { cat "$tool/go.mod" "$tool/go.sum"; go version; } | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/capi-planner/staticcheck/$stamp"
if [[ ! -x "$cache/staticcheck" ]]; then
  mkdir -p "$cache"
  exec 9>"$cache.lock"
  flock 9
  if [[ ! -x "$cache/staticcheck" ]]; then
    echo "building staticcheck (pinned in hack/tools/staticcheck) into $cache ..." >&2
    (cd "$tool" && go build -o "$cache/staticcheck.tmp" honnef.co/go/tools/cmd/staticcheck)
    mv "$cache/staticcheck.tmp" "$cache/staticcheck"
  fi
fi
echo "$cache/staticcheck"
