#!/usr/bin/env bash
# Installs what is missing, builds, starts two echo upstreams and pilotfish on the embedded demo
# bootstrap, sends a few requests through it, then keeps serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build pilotfish pf_echo_server
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
build/tools/pf_echo_server --port 18081 --name echo-v1 >/dev/null & pids+=($!)
build/tools/pf_echo_server --port 18082 --name echo-v2 >/dev/null & pids+=($!)
build/bootstrap/pilotfish --demo --concurrency 1 & pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:10000/hello && break; sleep 0.1; done
echo
echo "== curl http://127.0.0.1:10000/hello"; curl -s http://127.0.0.1:10000/hello
echo "== curl -i http://127.0.0.1:10000/v1/demo"; curl -si http://127.0.0.1:10000/v1/demo; echo
echo "== 20 requests to / (weighted 80/20 between echo-v1 and echo-v2):"
for _ in $(seq 20); do curl -s -D - -o /dev/null http://127.0.0.1:10000/ | grep -i '^x-echo-server' ; done | sort | uniq -c
echo
echo "pilotfish is serving on http://127.0.0.1:10000 (admin on http://127.0.0.1:15000). Ctrl-C stops it."
wait
