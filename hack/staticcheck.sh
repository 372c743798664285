#!/usr/bin/env bash
# Prints the path of the staticcheck binary pinned in hack/tools/staticcheck,
# building it once into a cache outside the checkout (keyed by the pinned
# go.mod/go.sum and the Go version), under a lock so builds never run in parallel.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tool="$root/hack/tools/staticcheck"
. "$root/hack/lib/buildcache.sh"
cache=$(cache_dir staticcheck "$tool/go.mod" "$tool/go.sum")
if [[ ! -x "$cache/staticcheck" ]]; then
  build_lock
  mkdir -p "$cache"
  if [[ ! -x "$cache/staticcheck" ]]; then
    echo "building staticcheck (pinned in hack/tools/staticcheck) into $cache ..." >&2
    (cd "$tool" && go build -o "$cache/staticcheck.tmp" honnef.co/go/tools/cmd/staticcheck)
    mv "$cache/staticcheck.tmp" "$cache/staticcheck"
  fi
fi
echo "$cache/staticcheck"
