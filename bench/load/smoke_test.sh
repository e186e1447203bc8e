#!/usr/bin/env bash
# CI check of the load harness itself (not a performance assertion): a --smoke run must measure
# every target, pilotfish included, with no wrk errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash "$here/run.sh" --smoke --json "$out/smoke.json" "$@"
python3 - "$out/smoke.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
targets = doc["targets"]
# Unpinned (fewer than 2 CPUs), the ceiling has no load CPU of its own and is skipped.
if doc["config"]["pinning"] == "none" and targets.get("ceiling", {}).get("status") == "skipped":
    del targets["ceiling"]
    expected_skips = {"ceiling"}
else:
    expected_skips = set()
bad = {name: t.get("status") for name, t in targets.items()
       if t.get("status") != "ok" or t.get("errors", 1) != 0 or not t.get("requests")}
expected = {"direct", "ceiling", "pilotfish", "nginx", "haproxy"}
if bad or set(targets) | expected_skips != expected:
    print(f"bench smoke: not every target measured cleanly: {bad or sorted(targets)}")
    sys.exit(1)
print("bench smoke: all targets measured:",
      ", ".join(f"{n} {t['requests']} requests" for n, t in sorted(targets.items())))
PY
