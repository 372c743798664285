#!/usr/bin/env bash
# Prints the directory holding the Cluster API v1.14.2 managers for the
# real-controller tier, building them first when missing: the core manager,
# KubeadmControlPlane, the kubeadm bootstrap provider, CAPD (run only with its
# in-memory backend) and CAPI's test runtime extension. They are built from the
# modules pinned in hack/tools/capi, one after the other under the machine-wide
# build lock, into a cache outside the checkout keyed by a stamp of the pins.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tool="$root/hack/tools/capi"
. "$root/hack/lib/buildcache.sh"

capi_version=v1.14.2
cache=$(cache_dir capi "$tool/go.mod" "$tool/go.sum" "$0")

# binary name -> main package
managers=(
  "cluster-api-controller sigs.k8s.io/cluster-api/core"
  "kubeadm-control-plane-controller sigs.k8s.io/cluster-api/controlplane/kubeadm"
  "kubeadm-bootstrap-controller sigs.k8s.io/cluster-api/bootstrap/kubeadm"
  "capd-controller sigs.k8s.io/cluster-api/test/infrastructure/docker"
  "test-extension sigs.k8s.io/cluster-api/test/extension"
)

complete() {
  local m
  for m in "${managers[@]}"; do
    [[ -x "$cache/${m%% *}" ]] || return 1
  done
}

if complete; then
  echo "$cache"
  exit 0
fi

build_lock
mkdir -p "$cache"
ldflags="-s -w -X sigs.k8s.io/cluster-api/version.gitVersion=$capi_version"
ldflags+=" -X sigs.k8s.io/cluster-api/version.gitMajor=1 -X sigs.k8s.io/cluster-api/version.gitMinor=14"
ldflags+=" -X sigs.k8s.io/cluster-api/version.gitTreeState=clean"
for m in "${managers[@]}"; do
  bin=${m%% *}
  pkg=${m#* }
  [[ -x "$cache/$bin" ]] && continue
  echo "building $bin ($pkg $capi_version, pinned in hack/tools/capi) into $cache ..." >&2
  (cd "$tool" && go build -trimpath -ldflags "$ldflags" -o "$cache/$bin.tmp" "$pkg")
  mv "$cache/$bin.tmp" "$cache/$bin"
done
echo "$cache"
