#!/usr/bin/env python3
"""Stats: requests with known response codes show up in the admin's /stats (text and JSON) and
/stats/prometheus under Envoy's names and tags; promtool accepts the Prometheus output;
stats_matcher drops stats; /reset_counters needs POST; pilot-agent's readiness query works."""

import json
import re
import shutil
import subprocess
import unittest
import urllib.parse

import harness as h
from harness import route, vhost

PROM_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# promtool's lint findings about names and help text only (its exit status is 3 for those).
LINT_ONLY = re.compile(r"(counter metrics should have \"_total\" suffix|no help text|"
                       r"non-histogram and non-summary metrics should not have|"
                       r"metric names should be written in 'snake_case'|"
                       r"non-counter metrics should not have \"_total\" suffix)")


def parse_text_stats(body):
    """'name: value' lines -> {name: int} (histogram lines are skipped)."""
    out = {}
    for line in body.decode().splitlines():
        name, _, value = line.rpartition(": ")
        if name and value.isdigit():
            out[name] = int(value)
    return out


def parse_prometheus(body):
    """Prometheus text -> ({sample line without value: value}, {family: type})."""
    samples, types = {}, {}
    for line in body.decode().splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ")
            if family in types:
                raise AssertionError(f"family {family} has two TYPE lines")
            types[family] = kind
            continue
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        samples[key] = float(value)
    return samples, types


class StatsTest(h.ProxyTestCase):
    def start(self, stats_config=None, stat_prefix="ingress"):
        self.echo = self.start_echo("echo")
        b = h.Bootstrap()
        b.add_cluster("echo", [("127.0.0.1", self.echo.port)])
        # Requests for other hosts find no route (router's no_route).
        routes = [
            route("echo", prefix="/retry/", prefix_rewrite="/status/",
                  retry_policy={"retry_on": "5xx", "num_retries": 2,
                                "retry_back_off": {"base_interval": "0.001s"}}),
            route("echo", prefix="/slow/", prefix_rewrite="/delay/", timeout="0.1s"),
            route(prefix="/direct", direct=(200, "hi")),
            route("echo"),
        ]
        b.add_http_listener("http", [vhost(routes, domains=("example.com",))],
                            stat_prefix=stat_prefix)
        b.add_tcp_proxy_listener("tcp", "echo", stat_prefix="tcp_in")
        if stats_config is not None:
            b.extra["stats_config"] = stats_config
        self.proxy = self.start_proxy(b)
        self.port = self.proxy.port("http")
        self.admin = self.proxy.admin_port
        r = h.http_request(self.admin, "GET", "/stats")
        if r.status == 404:
            self.skipTest("the admin has no /stats handler yet (InstallStatsHandlers not wired)")
        # The harness's readiness probe connected to every listener once. Its connection may
        # be accepted (and counted) after the probe saw the handshake complete: wait for that.
        active = f"http.{stat_prefix}.downstream_cx_active"
        total = f"http.{stat_prefix}.downstream_cx_total"
        listener_total = f"listener.127.0.0.1_{self.port}.downstream_cx_total"

        def probe_done():
            s = self.stats()
            if stats_config is not None:  # a stats_matcher may drop these stats
                return s.get(active, 0) == 0
            return s.get(total, 0) >= 1 and s.get(listener_total, 0) >= 1 and s.get(active) == 0
        h.poll_until(probe_done, what="readiness probe connections accepted and closed")
        self.base = self.stats()

    def get(self, path):
        r = h.http_request(self.admin, "GET", path)
        self.assertEqual(r.status, 200, f"GET {path}: {r!r}{self.diag()}")
        return r

    def stats(self, query=""):
        return parse_text_stats(self.get("/stats" + query).body)

    def send_known_codes(self):
        """5 x 200, 3 x 503, 2 x 404 from the upstream, 1 x 404 NR; 11 requests, 4 connections."""
        conn = h.RawConn(self.port)
        self.addCleanup(conn.close)
        codes = [200] * 5 + [503] * 3 + [404] * 2
        for code in codes:
            conn.send(h.build_request("GET", f"/status/{code}"))
            r = conn.read_response()
            self.assertEqual(r.status, code, repr(r))
        r = h.raw_request(self.port, h.build_request("GET", "/", host="nowhere.example"))
        self.assertEqual(r.status, 404, repr(r))
        # Two more connections, one request each.
        for _ in range(2):
            r = h.raw_request(self.port, h.build_request("GET", "/status/200"))
            self.assertEqual(r.status, 200, repr(r))

    def wait_idle(self):
        """Streams and connections finish on the workers just after the response is written;
        a connection the client closed is counted until its worker has read the FIN (at most
        the one keep-alive connection the tests keep open stays)."""
        def idle():
            s = self.stats("?filter=downstream_(rq|cx)_active$")
            return (s.get("http.ingress.downstream_rq_active") == 0
                    and s.get("http.ingress.downstream_cx_active", 0) <= 1)
        h.poll_until(idle, what="downstream_rq_active == 0 and downstream_cx_active <= 1")

    def test_counters_after_known_codes(self):
        self.start()
        self.send_known_codes()
        self.wait_idle()
        s = self.stats()
        expect = {
            "cluster.echo.upstream_rq_total": 12,
            "cluster.echo.upstream_rq_200": 7,
            "cluster.echo.upstream_rq_503": 3,
            "cluster.echo.upstream_rq_404": 2,
            "cluster.echo.upstream_rq_2xx": 7,
            "cluster.echo.upstream_rq_4xx": 2,
            "cluster.echo.upstream_rq_5xx": 3,
            "cluster.echo.membership_total": 1,
            "cluster.echo.membership_healthy": 1,
            "cluster.echo.upstream_rq_active": 0,
            "cluster.echo.circuit_breakers.default.cx_open": 0,
            "cluster.echo.circuit_breakers.default.rq_open": 0,
            "http.ingress.downstream_rq_total": 13,
            "http.ingress.downstream_rq_2xx": 7,
            "http.ingress.downstream_rq_4xx": 3,
            "http.ingress.downstream_rq_5xx": 3,
            "http.ingress.downstream_rq_completed": 13,
            "http.ingress.downstream_cx_total": self.base["http.ingress.downstream_cx_total"] + 4,
            "http.ingress.rq_total": 13,
            "http.ingress.no_route": 1,
            "http.ingress.no_cluster": 0,
            f"listener.127.0.0.1_{self.port}.downstream_cx_total":
                self.base[f"listener.127.0.0.1_{self.port}.downstream_cx_total"] + 4,
            "server.live": 1,
            "server.state": 0,
            "listener_manager.workers_started": 1,
        }
        got = {k: s.get(k) for k in expect}
        self.assertEqual(got, expect, self.diag())
        self.assertGreaterEqual(s["cluster.echo.upstream_cx_total"], 1)
        self.assertIn(s["http.ingress.downstream_cx_active"], (0, 1))  # the keep-alive one
        # Sorted by name, as Envoy prints them.
        names = [line.split(": ")[0] for line in self.get("/stats").body.decode().splitlines()
                 if "No recorded values" not in line and " P0(" not in line]
        self.assertEqual(names, sorted(names))
        # The histogram of request times has all 13 requests.
        hist = self.get("/stats?filter=downstream_rq_time&histogram_buckets=cumulative").body
        self.assertRegex(hist.decode(), r"^http\.ingress\.downstream_rq_time: B0\.5\(0,\d+\) .*"
                                        r"B3600000\(0,13\)\n$")

        # JSON: the same values.
        j = json.loads(self.get("/stats?format=json&filter=%5Ecluster%5C.echo%5C.upstream_rq_")
                       .body)
        values = {e["name"]: e["value"] for e in j["stats"] if "name" in e}
        self.assertEqual(values["cluster.echo.upstream_rq_503"], 3)
        self.assertEqual(values["cluster.echo.upstream_rq_total"], 12)

        # The tcp_proxy listener counts too.
        r = h.raw_request(self.proxy.port("tcp"), h.build_request("GET", "/status/200"))
        self.assertEqual(r.status, 200)
        tcp_base = self.base["tcp.tcp_in.downstream_cx_total"]
        h.poll_until(lambda: self.stats("?filter=%5Etcp%5C.").get(
            "tcp.tcp_in.downstream_cx_total") == tcp_base + 1, what="tcp downstream_cx_total + 1")

    def test_retries_timeouts_and_direct_responses(self):
        self.start()
        r = h.raw_request(self.port, h.build_request("GET", "/retry/503"))
        self.assertEqual(r.status, 503)
        r = h.raw_request(self.port, h.build_request("GET", "/slow/2000"))
        self.assertEqual(r.status, 504)
        r = h.raw_request(self.port, h.build_request("GET", "/direct"))
        self.assertEqual(r.status, 200)
        self.wait_idle_total(3)
        s = self.stats()
        expect = {
            "cluster.echo.upstream_rq_retry": 2,  # three attempts
            "cluster.echo.upstream_rq_503": 3,
            "cluster.echo.upstream_rq_timeout": 1,
            "cluster.echo.upstream_rq_504": 1,  # the timeout's local reply
            "cluster.echo.upstream_rq_total": 4,
            "http.ingress.rq_direct_response": 1,
            "http.ingress.rq_total": 3,
            "http.ingress.downstream_rq_5xx": 2,
            "http.ingress.downstream_rq_2xx": 1,
        }
        self.assertEqual({k: s.get(k) for k in expect}, expect, self.diag())

    def test_prometheus(self):
        self.start()
        self.send_known_codes()
        self.wait_idle()
        r = self.get("/stats/prometheus")
        self.assertEqual(r.header("content-type"), PROM_CONTENT_TYPE)
        samples, types = parse_prometheus(r.body)
        cluster = 'envoy_cluster_name="echo"'
        hcm = 'envoy_http_conn_manager_prefix="ingress"'
        expect = {
            f'envoy_cluster_upstream_rq{{envoy_response_code="200",{cluster}}}': 7,
            f'envoy_cluster_upstream_rq{{envoy_response_code="503",{cluster}}}': 3,
            f'envoy_cluster_upstream_rq_xx{{envoy_response_code_class="4",{cluster}}}': 2,
            f'envoy_cluster_upstream_rq_total{{{cluster}}}': 12,
            f'envoy_http_downstream_rq_xx{{envoy_response_code_class="2",{hcm}}}': 7,
            f'envoy_http_downstream_rq_total{{{hcm}}}': 13,
            f'envoy_http_no_route{{{hcm}}}': 1,
            f'envoy_listener_downstream_cx_total{{envoy_listener_address="127.0.0.1_{self.port}"}}':
                self.base[f"listener.127.0.0.1_{self.port}.downstream_cx_total"] + 4,
            'envoy_server_live{}': 1,
            f'envoy_http_downstream_rq_time_bucket{{{hcm},le="+Inf"}}': 13,
            f'envoy_http_downstream_rq_time_count{{{hcm}}}': 13,
        }
        got = {k: samples.get(k) for k in expect}
        self.assertEqual(got, expect, r.body.decode()[:3000])
        self.assertEqual(types["envoy_cluster_upstream_rq"], "counter")
        self.assertEqual(types["envoy_cluster_upstream_rq_active"], "gauge")
        self.assertEqual(types["envoy_http_downstream_rq_time"], "histogram")
        # Buckets are cumulative and end at the count.
        buckets = [v for k, v in samples.items()
                   if k.startswith("envoy_http_downstream_rq_time_bucket{" + hcm)]
        self.assertEqual(len(buckets), 20)
        self.assertEqual(buckets, sorted(buckets))
        # /stats?format=prometheus is the same output.
        self.assertEqual(self.get("/stats?format=prometheus").body, r.body)
        self.check_promtool(r.body)

    def check_promtool(self, body):
        promtool = shutil.which("promtool")
        if promtool is None:
            self.fail("promtool is not installed (Debian package 'prometheus'; tools/setup.sh)")
        p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                           timeout=60)
        report = (p.stdout + p.stderr).decode()
        if p.returncode == 0:
            return
        self.assertEqual(p.returncode, 3, f"promtool failed (exit {p.returncode}):\n{report}")
        findings = [l for l in report.splitlines() if l.strip()]
        bad = [l for l in findings if not LINT_ONLY.search(l)]
        self.assertEqual(bad, [], f"promtool reported problems other than naming lints:\n{report}")

    def test_prometheus_escapes_label_values(self):
        # An HCM stat_prefix with '"' and '\\' ends up in a label value (the default
        # http_conn_manager_prefix tag); the exposition stays valid.
        self.start(stat_prefix='in"gr\\ess')
        r = h.raw_request(self.port, h.build_request("GET", "/status/200"))
        self.assertEqual(r.status, 200)
        body = self.get("/stats/prometheus").body
        self.assertIn(b'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix='
                      b'"in\\"gr\\\\ess"} 1\n', body)
        self.check_promtool(body)

    def test_stats_matcher_drops_stats(self):
        # Istio's default: only server, cluster_manager, listener_manager, ... survive.
        self.start(stats_config={"stats_matcher": {"inclusion_list": {"patterns": [
            {"prefix": "server"}, {"prefix": "listener_manager"}, {"prefix": "cluster_manager"},
            {"safe_regex": {"regex": r"http\..*\.downstream_rq_total"}}]}}})
        self.send_known_codes()
        self.wait_idle_total(13)
        s = self.stats()
        self.assertEqual(s.get("http.ingress.downstream_rq_total"), 13)
        self.assertFalse([k for k in s if k.startswith("cluster.")], s)
        self.assertNotIn("http.ingress.downstream_rq_2xx", s)
        self.assertEqual(s.get("server.live"), 1)
        self.assertNotRegex(self.get("/stats/prometheus").body.decode(), r"envoy_cluster_(?!manager)")

    def wait_idle_total(self, n):
        h.poll_until(lambda: self.stats().get("http.ingress.downstream_rq_total") == n,
                     what=f"downstream_rq_total == {n}")

    def test_usedonly_filter_and_reset(self):
        self.start()
        # pilot-agent's readiness query.
        q = urllib.parse.quote(r"^(server\.state|listener_manager\.workers_started)")
        r = self.get(f"/stats?usedonly&filter={q}")
        self.assertEqual(r.body, b"listener_manager.workers_started: 1\nserver.state: 0\n")
        # usedonly leaves out what was never written.
        self.assertNotIn("cluster.echo.upstream_rq_retry", self.stats("?usedonly"))
        self.assertIn("cluster.echo.upstream_rq_retry", self.stats())
        self.assertEqual(h.http_request(self.admin, "GET", "/stats?filter=(").status, 400)

        h.raw_request(self.port, h.build_request("GET", "/status/200"))
        self.wait_idle_total(1)
        # Mutations need POST.
        r = h.http_request(self.admin, "GET", "/reset_counters")
        self.assertEqual(r.status, 405)  # Envoy: "Method GET not allowed, POST required."
        self.assertEqual(self.stats()["cluster.echo.upstream_rq_200"], 1)
        r = h.http_request(self.admin, "POST", "/reset_counters")
        self.assertEqual(r.status, 200)
        s = self.stats()
        self.assertEqual(s["cluster.echo.upstream_rq_200"], 0)
        self.assertEqual(s["http.ingress.downstream_rq_total"], 0)
        self.assertEqual(s["server.live"], 1)  # gauges are not counters
        # A reset counter is still "used" and keeps counting.
        self.assertIn("cluster.echo.upstream_rq_200", self.stats("?usedonly"))
        h.raw_request(self.port, h.build_request("GET", "/status/200"))
        self.wait_idle_total(1)
        self.assertEqual(self.stats()["cluster.echo.upstream_rq_200"], 1)


if __name__ == "__main__":
    unittest.main()
