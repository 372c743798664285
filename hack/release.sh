#!/usr/bin/env bash
# Builds release archives of capi-planner into dist/: one per platform
# (capi-planner_<version>_<os>_<arch>.tar.gz, .zip for windows) and checksums.txt.
# Reproducible: the same commit and Go version give the same bytes (-trimpath,
# no build ID, no VCS stamping, archives with fixed times, owners and order).
# Usage: hack/release.sh VERSION [PLATFORM...]   (PLATFORM is os/arch)
set -euo pipefail
version=${1:?usage: hack/release.sh VERSION [os/arch...]}
shift
platforms=("$@")
if [[ ${#platforms[@]} -eq 0 ]]; then
  platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
fi
root=$(cd "$(dirname "$0")/.." && pwd)
dist="$root/dist"
rm -rf "$dist"
mkdir -p "$dist"
# Every file in the archives gets the time of the commit being built.
epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  name="capi-planner_${version}_${os}_${arch}"
  stage="$dist/$name"
  mkdir -p "$stage"
  exe=capi-planner
  [[ $os == windows ]] && exe=capi-planner.exe
  echo "building $name" >&2
  (cd "$root" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X github.com/capi-planner/capi-planner/internal/cmd.Version=$version" \
    -o "$stage/$exe" ./cmd/capi-planner)
  cp "$root/README.md" "$root/hack/krew/kubectl_complete-capi_planner" "$stage/"
  touch -d "@$epoch" "$stage"/*
  if [[ $os == windows ]]; then
    (cd "$stage" && TZ=UTC zip -q -X -D "$dist/$name.zip" $(ls | LC_ALL=C sort))
  else
    tar -C "$stage" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -cf - . | gzip -n -9 > "$dist/$name.tar.gz"
  fi
  rm -rf "$stage"
done
shopt -s nullglob
(cd "$dist" && archives=(*.tar.gz *.zip) && sha256sum -- "${archives[@]}" | LC_ALL=C sort -k2 > checksums.txt)
cat "$dist/checksums.txt"
