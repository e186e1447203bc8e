#!/usr/bin/env python3
"""--mode validate: good configs exit 0; bad or unsupported ones exit 1 with a message that names
the problem; no input ever crashes the binary. Also runs every Envoy bootstrap in the shared
testdata (real published configs) and prints a table of the outcomes."""

import json
import os
import re
import sys

import harness as h
from harness import route, vhost

BOOTSTRAP_KEYS = {"static_resources", "dynamic_resources", "admin", "node", "layered_runtime",
                  "cluster_manager", "stats_config", "overload_manager", "tracing",
                  "bootstrap_extensions", "stats_sinks"}
# Exit 1 is acceptable for a published config only with a clear reason. The last two are
# Envoy's own wording for a config that points at a file this machine does not have.
REJECTION_WORDS = ("not supported", "unsupported", "unknown", "does not exist", "no such file")


def good_bootstrap():
    b = h.Bootstrap()
    b.add_cluster("echo", [("127.0.0.1", 1)])
    b.add_http_listener("http", [vhost([route("echo", prefix="/")])])
    return b.render({"http": 1}, 2)


class ValidateModeTest(h.ProxyTestCase):
    def validate(self, doc, name="config.yaml", timeout=30):
        path = h.write_config(self.tmpdir, name, doc)
        return h.run_pilotfish(["--mode", "validate", "-c", path], timeout=timeout)

    def test_good_config_exits_0(self):
        rc, out = self.validate(good_bootstrap())
        self.assertEqual(rc, 0, out)

    def test_good_yaml_text_config_exits_0(self):
        text = """
static_resources:
  listeners:
  - name: http
    address:
      socket_address: { address: 127.0.0.1, port_value: 10000 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config:
            name: local_route
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: echo, timeout: 5s }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: echo
    type: STRICT_DNS
    connect_timeout: 0.25s
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: echo
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: localhost, port_value: 8080 }
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 9901 }
"""
        rc, out = self.validate(text)
        self.assertEqual(rc, 0, out)

    def test_unsupported_http_filter_exits_1_naming_type(self):
        doc = good_bootstrap()
        hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
            "typed_config"]
        hcm["http_filters"].insert(0, {
            "name": "envoy.filters.http.cors",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"},
        })
        rc, out = self.validate(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("envoy.extensions.filters.http.cors.v3.Cors", out)

    def test_unregistered_type_url_exits_1_naming_type(self):
        doc = good_bootstrap()
        hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
            "typed_config"]
        bogus = "envoy.extensions.filters.http.pilotfish_no_such_filter.v3.NoSuchFilter"
        hcm["http_filters"].insert(0, {"name": "no.such.filter",
                                       "typed_config": {"@type": "type.googleapis.com/" + bogus}})
        rc, out = self.validate(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn(bogus, out)

    def test_bad_safe_regex_exits_1(self):
        doc = good_bootstrap()
        hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
            "typed_config"]
        hcm["route_config"]["virtual_hosts"][0]["routes"].insert(
            0, route("echo", safe_regex="/api/([a-z"))
        rc, out = self.validate(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("regex", out.lower(), "message should name the regex field")

    def test_unapplied_features_are_named_in_warnings(self):
        # Translated but not applied yet: the config loads, and each use is named, never silent.
        doc = good_bootstrap()
        doc["static_resources"]["clusters"][0]["common_http_protocol_options"] = {
            "max_connection_duration": "60s"}
        rc, out = self.validate(doc)
        self.assertEqual(rc, 0, out)
        self.assertIn("clusters[0].max_connection_duration: max_connection_duration is not "
                      "applied", out)

    def test_applied_route_and_cluster_features_are_not_warned(self):
        doc = good_bootstrap()
        hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
            "typed_config"]
        action = hcm["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
        action["idle_timeout"] = "30s"
        action["retry_policy"] = {"retry_on": "5xx", "per_try_idle_timeout": "1s"}
        doc["static_resources"]["clusters"][0]["circuit_breakers"] = {
            "thresholds": [{"retry_budget": {"budget_percent": {"value": 20}}}]}
        rc, out = self.validate(doc)
        self.assertEqual(rc, 0, out)
        self.assertNotIn("not applied", out)

    def test_missing_config_file_exits_1(self):
        missing = os.path.join(self.tmpdir, "does-not-exist.yaml")
        rc, out = h.run_pilotfish(["--mode", "validate", "-c", missing])
        self.assertEqual(rc, 1, out)
        self.assertIn("does-not-exist.yaml", out)

    def test_malformed_yaml_exits_1(self):
        rc, out = self.validate("static_resources: {listeners: [ {name: x\n  :: ]]\n")
        self.assertEqual(rc, 1, out)

    def test_wrong_field_type_exits_1(self):
        doc = good_bootstrap()
        doc["static_resources"]["clusters"][0]["connect_timeout"] = {"not": "a duration"}
        rc, out = self.validate(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn("connect_timeout", out)


def top_level_keys(path, text):
    if path.endswith(".json"):
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        return set(doc) if isinstance(doc, dict) else set()
    return set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:", text, re.M))


def shared_bootstraps():
    """(relative path, absolute path) of every Envoy bootstrap in $PF_SHARED_DIR/testdata;
    Istio/Kubernetes objects (apiVersion/kind), xDS resource files and templates are skipped."""
    root = os.path.join(h.SHARED_DIR, "testdata")
    out, skipped = [], []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if not f.endswith((".yaml", ".yml", ".json")):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            keys = top_level_keys(path, text)
            if "{{" in text:
                skipped.append((rel, "template"))
            elif keys is None:
                skipped.append((rel, "not JSON"))
            elif keys & {"apiVersion", "kind"}:
                skipped.append((rel, "Kubernetes/Istio object"))
            elif not keys & BOOTSTRAP_KEYS:
                skipped.append((rel, "not a bootstrap: " + ",".join(sorted(keys))[:40]))
            else:
                out.append((rel, path))
    return sorted(out), skipped


class SharedTestdataTest(h.ProxyTestCase):
    def test_every_shared_bootstrap_validates_or_is_cleanly_rejected(self):
        files, skipped = shared_bootstraps()
        self.assertGreater(len(files), 10, f"too few bootstraps found under {h.SHARED_DIR}")
        rows = []
        for rel, path in files:
            with self.subTest(file=rel):
                rc, out = h.run_pilotfish(["--mode", "validate", "-c", path], timeout=30,
                                          cwd=os.path.dirname(path))
                # The reason is at the end of the last line that gives one.
                reasons = [l.strip() for l in out.splitlines()
                           if any(w in l.lower() for w in REJECTION_WORDS)]
                first = (reasons or out.strip().splitlines() or [""])[-1]
                if rc == 0:
                    verdict = "valid"
                elif rc == 1 and any(w in out.lower() for w in REJECTION_WORDS):
                    verdict = "rejected"
                elif rc == 1:
                    verdict = "FAIL: exit 1 without a clear reason"
                else:
                    verdict = f"FAIL: exit status {rc}" + (" (signal)" if rc < 0 else "")
                rows.append((rel, rc, verdict, first if rc else ""))
                self.assertFalse(verdict.startswith("FAIL"), f"{rel}: {verdict}\n{out[-3000:]}")
        width = max(len(r[0]) for r in rows)
        table = [f"\n{'file':<{width}}  rc  verdict   message", "-" * (width + 40)]
        for rel, rc, verdict, msg in rows:
            msg = msg if len(msg) <= 110 else "..." + msg[-107:]
            table.append(f"{rel:<{width}}  {rc:>2}  {verdict:<8}  {msg}")
        reasons = {}
        for _, why in skipped:
            reasons[why] = reasons.get(why, 0) + 1
        table.append(f"skipped {len(skipped)} files: " +
                     ", ".join(f"{n} x {why}" for why, n in sorted(reasons.items())))
        sys.stderr.write("\n".join(table) + "\n")


if __name__ == "__main__":
    h.main()
