#!/usr/bin/env bash
# Prints the directory holding the kube-apiserver and etcd binaries for the envtest
# tier (KUBEBUILDER_ASSETS), building them first when missing. setup-envtest cannot
# download them here, so they are built from the modules pinned in hack/tools/.
#
# The binaries live outside the checkout, in a cache keyed by a stamp of the pinned
# go.mod/go.sum files and the Go version, so a fresh clone reuses them. Builds never
# run in parallel: one machine-wide lock (hack/lib/buildcache.sh) serialises every
# heavy build, and the two builds run one after the other (kube-apiserver takes about 3.5 minutes and 1.9 GB on 2 cores).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/hack/tools"
. "$root/hack/lib/buildcache.sh"
kube_version=v1.36.3

cache=$(cache_dir envtest "$tools"/kube-apiserver/go.mod "$tools"/kube-apiserver/go.sum \
          "$tools"/etcd/go.mod "$tools"/etcd/go.sum "$tools"/etcd/main.go "$0")

if [[ -x "$cache/kube-apiserver" && -x "$cache/etcd" ]]; then
  echo "$cache"
  exit 0
fi

build_lock
mkdir -p "$cache"
if [[ ! -x "$cache/etcd" ]]; then
  echo "building etcd (pinned in hack/tools/etcd) into $cache ..." >&2
  (cd "$tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$cache/etcd.tmp" .)
  mv "$cache/etcd.tmp" "$cache/etcd"
fi
if [[ ! -x "$cache/kube-apiserver" ]]; then
  echo "building kube-apiserver $kube_version (pinned in hack/tools/kube-apiserver) into $cache; this takes a few minutes once ..." >&2
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=36"
  done
  (cd "$tools/kube-apiserver" && go build -trimpath -ldflags "$ldflags" -o "$cache/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$cache/kube-apiserver.tmp" "$cache/kube-apiserver"
fi
echo "$cache"
