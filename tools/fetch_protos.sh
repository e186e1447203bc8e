#!/usr/bin/env bash
# Fetches the pinned @grpc/grpc-js-xds npm tarball (Envoy v3, xds, googleapis and PGV protos),
# unpacks its deps/ into OUT_DIR/proto-src, strips the `ignore_empty` option our validate.proto
# lacks, and writes OUT_DIR/proto-closure.txt: the transitive closure of ROOTS that protoc compiles.
# Usage: fetch_protos.sh OUT_DIR ROOT.proto...
set -euo pipefail
VERSION=1.14.1
SHA256=fd27db4119c139d5b59e8fe99d109bed04bff491302743ae3bf096667105c607
out=$1
shift
cache=${PILOTFISH_CACHE:-$HOME/.cache/pilotfish}
tgz=$cache/grpc-grpc-js-xds-$VERSION.tgz
mkdir -p "$cache" "$out"
if ! echo "$SHA256  $tgz" | sha256sum -c --status 2>/dev/null; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@grpc/grpc-js-xds@$VERSION" >/dev/null 2>&1)
  mv "$tmp"/grpc-grpc-js-xds-$VERSION.tgz "$tgz"
  rm -rf "$tmp"
  echo "$SHA256  $tgz" | sha256sum -c --status || { echo "fetch_protos: checksum mismatch for $tgz" >&2; exit 1; }
fi
src=$out/proto-src
stamp=$src/.stamp-$VERSION
if [ ! -f "$stamp" ]; then
  rm -rf "$src" "$out/unpack"
  mkdir -p "$out/unpack"
  tar -xzf "$tgz" -C "$out/unpack"
  mv "$out/unpack/package/deps" "$src"
  rm -rf "$out/unpack"
  grep -rl "ignore_empty" "$src" --include='*.proto' | xargs -r sed -i 's/ ignore_empty: true//g'
  touch "$stamp"
fi
includes=(-I"$src/envoy-api" -I"$src/xds" -I"$src/googleapis" -I"$src/protoc-gen-validate")
protoc "${includes[@]}" --include_imports --descriptor_set_out="$out/closure.pb" "$@"
# google/protobuf/* come with libprotobuf itself.
protoc --decode=google.protobuf.FileDescriptorSet google/protobuf/descriptor.proto <"$out/closure.pb" |
  sed -n 's/^  name: "\(.*\)"$/\1/p' | grep -v '^google/protobuf/' >"$out/proto-closure.txt.new"
mv "$out/proto-closure.txt.new" "$out/proto-closure.txt"
