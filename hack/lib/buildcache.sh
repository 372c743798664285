# Sourced by the scripts that build heavy tools (kube-apiserver, etcd, the CAPI
# managers, staticcheck) into a cache outside the checkout.
#
# cache_dir NAME FILE...   prints ${XDG_CACHE_HOME:-~/.cache}/capi-planner/NAME/<stamp>,
#                          where the stamp hashes FILE... and the Go version, so a
#                          fresh clone with the same pins reuses what was built.
# build_lock               takes one machine-wide lock for the rest of the script:
#                          heavy builds never run in parallel (2 cores, ~2 GB each).

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/capi-planner"

cache_dir() {
  local name=$1
  shift
  local stamp
  stamp=$( { cat "$@"; go version; } | sha256sum | cut -c1-16)
  echo "$cache_root/$name/$stamp"
}

build_lock() {
  mkdir -p "$cache_root"
  exec 9>"$cache_root/build.lock"
  flock 9
}
