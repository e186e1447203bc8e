#!/usr/bin/env bash
# Installs what pilotfish needs to build, test and benchmark on a Debian machine. Idempotent.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo

PKGS=(build-essential cmake ninja-build ccache pkg-config clang-format shellcheck
  libuv1-dev node-llhttp libssl-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc libabsl-dev libgtest-dev libgmock-dev
  libbenchmark-dev libyaml-cpp-dev libre2-dev
  curl wrk nginx-light haproxy iproute2 iptables procps python3
  prometheus)  # for promtool (tests/integration/test_stats.py)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"

  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian nginx/haproxy/prometheus packages start system services; we only want their
  # binaries.
  for svc in nginx haproxy prometheus; do
    if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# npm fetches the Envoy v3 protos at build time; Debian's npm conflicts with NodeSource's nodejs,
# so only install it when no npm is present at all.
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
