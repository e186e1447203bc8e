#!/usr/bin/env python3
"""Istio's standard metrics as a sidecar emits them: an Istio-shaped bootstrap (node metadata,
outbound and inbound listeners with the istio.stats filter, a TCP chain with istio.stats and
metadata exchange, the 0.0.0.0_15090 and 0.0.0.0_15021 listeners), traffic with known codes and
flags, then the counts per label set on /stats/prometheus through the 15090-style listener,
promtool's check, and a real Prometheus server scraping it answering a PromQL query."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

import harness as h
from harness import route, vhost
from test_stats import LINT_ONLY, parse_prometheus

# Istio's own name istio_request_duration_milliseconds draws promtool's base-unit lint too.
LINTS = re.compile(LINT_ONLY.pattern + r'|use base unit "seconds" instead of "milliseconds"')

STATS_FILTER = {
    "name": "istio.stats",
    "typed_config": {
        "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
        "type_url": "type.googleapis.com/stats.PluginConfig",
        "value": {},
    },
}
MX_FILTER = {
    "name": "istio.metadata_exchange",
    "typed_config": {
        "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
        "type_url": "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
        "value": {"protocol": "istio-peer-exchange"},
    },
}
NODE = {
    "id": "sidecar~10.0.0.7~productpage-v1-abc.default~default.svc.cluster.local",
    "cluster": "productpage.default",
    "metadata": {
        "WORKLOAD_NAME": "productpage-v1",
        "NAMESPACE": "default",
        "CLUSTER_ID": "Kubernetes",
        "LABELS": {"app": "productpage", "version": "v1"},
    },
}
REVIEWS = "outbound|9080||reviews.default.svc.cluster.local"
RATINGS = "outbound|9080||ratings.default.svc.cluster.local"  # no endpoints: 503 UH
INBOUND = "inbound|9080||"
DB = "outbound|27017||mongodb.default.svc.cluster.local"


class IstioBootstrap(h.Bootstrap):
    """Points the Istio bootstrap's prometheus_stats and agent clusters at the admin port, which
    serves /stats/prometheus and (standing in for pilot-agent) /healthz/ready."""

    def render(self, ports, admin_port):
        doc = super().render(ports, admin_port)
        for c in doc["static_resources"]["clusters"]:
            if c["name"] in ("prometheus_stats", "agent"):
                ep = c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
                ep["endpoint"]["address"]["socket_address"]["port_value"] = admin_port
        return doc


def set_direction(b, name, direction):
    for l in b.listeners:
        if l["name"] == name:
            l["traffic_direction"] = direction


def labels_match(key, want):
    """A sample key 'name{a="x",...}' has every label of `want`."""
    return all(f'{k}="{v}"' in key for k, v in want.items())


def total(samples, metric, **want):
    return sum(v for k, v in samples.items()
               if k.split("{", 1)[0] == metric and labels_match(k, want))


class IstioMetricsTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("echo")
        b = IstioBootstrap()
        b.extra["node"] = NODE
        # Istio's inclusion list (SPEC.md section 6): istio_* must pass it.
        b.extra["stats_config"] = {"stats_matcher": {"inclusion_list": {"patterns": [
            {"prefix": "reporter="}, {"prefix": "cluster_manager"},
            {"prefix": "listener_manager"}, {"prefix": "server"}, {"prefix": "istio"}]}}}
        b.add_cluster(REVIEWS, [("127.0.0.1", self.echo.port)])
        b.add_cluster(RATINGS, [])
        b.add_cluster(INBOUND, [("127.0.0.1", self.echo.port)])
        b.add_cluster(DB, [("127.0.0.1", self.echo.port)])
        b.add_cluster("prometheus_stats", [("127.0.0.1", 1)])  # port set at render
        b.add_cluster("agent", [("127.0.0.1", 1)])
        filters = [STATS_FILTER, h.ROUTER_FILTER]
        b.add_http_listener("outbound", [vhost([
            route(RATINGS, prefix="/ratings"),
            route(REVIEWS, prefix="/"),
        ], domains=("reviews:9080", "reviews", "*"))], http_filters=filters)
        set_direction(b, "outbound", "OUTBOUND")
        b.add_http_listener("inbound", [vhost([route(INBOUND)])], http_filters=filters)
        set_direction(b, "inbound", "INBOUND")
        b.add_tcp_proxy_listener("tcp", DB)
        tcp = b.listeners[-1]
        tcp["traffic_direction"] = "OUTBOUND"
        tcp["filter_chains"][0]["filters"][:0] = [MX_FILTER, STATS_FILTER]
        # Istio's static 15090 / 15021 listeners (bootstrap template).
        b.add_http_listener("prometheus", [vhost([
            route("prometheus_stats", prefix="/stats/prometheus")])], stat_prefix="stats")
        b.add_http_listener("health", [vhost([
            route("agent", prefix="/healthz/ready")])], stat_prefix="agent")
        self.proxy = self.start_proxy(b)
        self.prom_port = self.proxy.port("prometheus")
        # The harness's readiness probe opened a TCP session too: count from after it.
        def settled():
            s, _ = parse_prometheus(self.scrape())
            opened = total(s, "istio_tcp_connections_opened_total")
            return opened == total(s, "istio_tcp_connections_closed_total") and opened
        self.tcp_base = h.poll_until(settled, what="the probe's TCP session to be reported")

    def scrape(self):
        r = h.http_request(self.prom_port, "GET", "/stats/prometheus")
        self.assertEqual(r.status, 200, r.body[:300])
        return r.body

    def send_traffic(self):
        out = self.proxy.port("outbound")
        for _ in range(7):
            self.assertEqual(h.http_request(out, "GET", "/status/200",
                                            headers={"Host": "reviews:9080"}).status, 200)
        for _ in range(3):
            self.assertEqual(h.http_request(out, "GET", "/status/503",
                                            headers={"Host": "reviews:9080"}).status, 503)
        for _ in range(2):
            r = h.http_request(out, "GET", "/ratings/1", headers={"Host": "ratings:9080"})
            self.assertEqual(r.status, 503)
        for _ in range(4):
            r = h.http_request(self.proxy.port("inbound"), "POST", "/status/201",
                               body=b"x" * 100, headers={"Host": "productpage.default:9080"})
            self.assertEqual(r.status, 201)
        self.tcp_bytes = 0
        for i in range(2):
            with socket.create_connection(("127.0.0.1", self.proxy.port("tcp")), timeout=5) as s:
                req = b"GET /status/200 HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n"
                s.sendall(req)
                self.tcp_bytes += len(req)
                while s.recv(65536):
                    pass

    def wait_for_tcp_close(self):
        # A TCP session reports when it closes, just after the client saw its end.
        def closed():
            s, _ = parse_prometheus(self.scrape())
            return total(s, "istio_tcp_connections_closed_total") >= self.tcp_base + 2
        h.poll_until(closed, what="both TCP sessions reported closed")

    def test_counts_and_labels(self):
        # Before traffic: no istio_ series (nothing reported yet), readiness through 15021.
        self.assertNotIn(b"istio_requests_total", self.scrape())
        r = h.http_request(self.proxy.port("health"), "GET", "/healthz/ready")
        self.assertEqual(r.status, 200, r.body)
        self.send_traffic()
        self.wait_for_tcp_close()
        samples, types = parse_prometheus(self.scrape())
        self.assertEqual(types.get("istio_requests_total"), "counter")
        self.assertEqual(types.get("istio_request_duration_milliseconds"), "histogram")
        self.assertEqual(types.get("istio_request_bytes"), "histogram")
        self.assertEqual(types.get("istio_response_bytes"), "histogram")
        src = {
            "reporter": "source", "source_workload": "productpage-v1",
            "source_workload_namespace": "default", "source_app": "productpage",
            "source_version": "v1", "source_canonical_service": "productpage",
            "source_canonical_revision": "v1", "source_cluster": "Kubernetes",
            "source_principal": "unknown", "destination_workload": "unknown",
            "request_protocol": "http", "connection_security_policy": "unknown",
        }
        reviews = dict(src, destination_service="reviews.default.svc.cluster.local",
                       destination_service_name="reviews",
                       destination_service_namespace="default")
        self.assertEqual(total(samples, "istio_requests_total", response_code="200",
                               response_flags="-", **reviews), 7)
        self.assertEqual(total(samples, "istio_requests_total", response_code="503",
                               response_flags="-", **reviews), 3)
        self.assertEqual(total(samples, "istio_requests_total", response_code="503",
                               response_flags="UH", destination_service_name="ratings", **src), 2)
        self.assertEqual(total(samples, "istio_requests_total", reporter="source"), 12)
        # The histograms count every request once, with Envoy's default buckets.
        self.assertEqual(total(samples, "istio_request_duration_milliseconds_count",
                               response_code="200", **reviews), 7)
        self.assertEqual(total(samples, "istio_request_duration_milliseconds_bucket",
                               response_code="200", le="+Inf", **reviews), 7)
        self.assertEqual(total(samples, "istio_request_duration_milliseconds_bucket",
                               response_code="200", le="3600000", **reviews), 7)
        self.assertIn('le="0.5"', next(k for k in samples
                                       if k.startswith("istio_request_bytes_bucket")))
        # Inbound: this workload is the destination; the peer is unknown (no mTLS, no exchange).
        dst = {"reporter": "destination", "destination_workload": "productpage-v1",
               "destination_workload_namespace": "default", "destination_app": "productpage",
               "destination_version": "v1", "destination_canonical_service": "productpage",
               "destination_canonical_revision": "v1", "destination_cluster": "Kubernetes",
               "source_workload": "unknown", "connection_security_policy": "none",
               "destination_service": "productpage.default",
               "response_code": "201", "response_flags": "-"}
        self.assertEqual(total(samples, "istio_requests_total", **dst), 4)
        # Request bytes include the 100-byte bodies: each request's sum is above 100.
        self.assertGreater(total(samples, "istio_request_bytes_sum", **dst), 400)
        # TCP: two sessions opened and closed, bytes from and to the client.
        tcp = {"reporter": "source", "request_protocol": "tcp",
               "destination_service": "mongodb.default.svc.cluster.local",
               "source_workload": "productpage-v1"}
        self.assertEqual(total(samples, "istio_tcp_connections_opened_total", **tcp),
                         self.tcp_base + 2)
        self.assertEqual(total(samples, "istio_tcp_connections_closed_total", **tcp),
                         self.tcp_base + 2)
        self.assertEqual(total(samples, "istio_tcp_received_bytes_total", **tcp), self.tcp_bytes)
        self.assertGreater(total(samples, "istio_tcp_sent_bytes_total", **tcp), 0)
        # Istio's inclusion list keeps per-service cluster stats out.
        self.assertFalse(any("envoy_cluster_upstream_rq_total" in k for k in samples))

    def test_promtool_accepts_the_scrape(self):
        promtool = shutil.which("promtool")
        if promtool is None:
            self.fail("promtool is not installed (Debian package 'prometheus'; tools/setup.sh)")
        self.send_traffic()
        self.wait_for_tcp_close()
        p = subprocess.run([promtool, "check", "metrics"], input=self.scrape(),
                           capture_output=True, timeout=60)
        out = (p.stdout + p.stderr).decode()
        if p.returncode == 3:
            findings = [l for l in out.splitlines() if l.strip()]
            self.assertTrue(all(LINTS.search(l) for l in findings), out)
        else:
            self.assertEqual(p.returncode, 0, out)

    def test_prometheus_server_scrapes_it(self):
        prometheus = shutil.which("prometheus")
        if prometheus is None:
            self.fail("prometheus is not installed (Debian package 'prometheus'; tools/setup.sh)")
        self.send_traffic()
        web = h.free_port()
        cfg = os.path.join(self.tmpdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: envoy-stats\n"
                    "    metrics_path: /stats/prometheus\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{self.prom_port}']\n")
        log = open(os.path.join(self.tmpdir, "prometheus.log"), "w")
        proc = subprocess.Popen(
            [prometheus, f"--config.file={cfg}",
             f"--storage.tsdb.path={os.path.join(self.tmpdir, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{web}"],
            stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(log.close)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.kill)

        def query(q):
            url = f"http://127.0.0.1:{web}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    doc = json.load(r)
            except OSError:
                return None
            res = doc.get("data", {}).get("result", [])
            return float(res[0]["value"][1]) if res else None

        q = ('sum(istio_requests_total{reporter="source",source_workload="productpage-v1",'
             'destination_service_name="reviews",response_code="200"})')
        h.poll_until(lambda: query(q) == 7.0, timeout=60, interval=0.5,
                     what="Prometheus to scrape istio_requests_total = 7")
        self.assertEqual(query('sum(istio_requests_total{response_flags="UH"})'), 2.0)
        self.assertEqual(query('sum by (reporter) (istio_requests_total{reporter="destination"})'),
                         4.0)
        # The target is healthy (the scrape parsed).
        self.assertEqual(query('up{job="envoy-stats"}'), 1.0)


if __name__ == "__main__":
    unittest.main()
