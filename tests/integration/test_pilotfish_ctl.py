#!/usr/bin/env python3
"""tools/pilotfish-ctl (istioctl proxy-config for pilotfish) against a running proxy: its
listener, route, cluster and endpoint tables name what the proxy loaded (static bootstrap and
xDS), `-o json` is JSON, `stats --filter` shows the counts of the requests sent, an ejected host
shows FAILED, and an unreachable admin port is exit 1 with a message naming the address. Shapes
pilotfish does not emit (filter chain matches, warming resources) come from a canned admin port
and are tabled as istioctl does."""

import http.server
import json
import os
import re
import subprocess
import sys
import threading

import harness as h
from harness import route, vhost
from test_xds import XdsCase, assignment, eds_cluster, listener, route_config

CTL = os.path.join(h.SOURCE_DIR, "tools", "pilotfish-ctl")
REVIEWS = "outbound|9080|v1|reviews.default.svc.cluster.local"
RATINGS = "outbound|9080||ratings.default.svc.cluster.local"
ISTIO_API = "/apis/networking.istio.io/v1alpha3/namespaces/default/"


def istio_metadata(kind, name):
    """The metadata istiod puts on a route or cluster naming the config that made it."""
    return {"filter_metadata": {"istio": {"config": f"{ISTIO_API}{kind}/{name}"}}}


def parse_table(text):
    """Rows of a pilotfish-ctl table as dicts keyed by header; cells are cut at the header's
    column starts (a header name is separated from the next by at least two spaces)."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        raise AssertionError("empty table output")
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=\s\s))\S", header)]
    names = [header[s:e].strip() for s, e in zip(starts, starts[1:] + [None])]
    return [{n: l[s:e].strip() for n, s, e in zip(names, starts, starts[1:] + [None])}
            for l in lines[1:]]


class CtlCase(h.ProxyTestCase):
    def ctl(self, *args, admin=None, rc=0):
        if admin is None:
            admin = f"127.0.0.1:{self.proxy.admin_port}"
        p = subprocess.run([sys.executable, CTL, "--admin", admin, *args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        out, err = p.stdout.decode(), p.stderr.decode()
        self.assertEqual(p.returncode, rc, f"pilotfish-ctl {' '.join(args)}: rc {p.returncode}\n"
                                           f"stdout:\n{out}\nstderr:\n{err}{self.diag()}")
        return out, err

    def rows(self, kind, *extra):
        return parse_table(self.ctl("proxy-config", kind, *extra)[0])

    def json_out(self, *args):
        out = self.ctl(*args)[0]
        try:
            return json.loads(out)
        except ValueError as e:
            raise AssertionError(f"pilotfish-ctl {' '.join(args)} is not JSON ({e}):\n{out}")


class StaticCtlTest(CtlCase):
    """Two HTTP/TCP listeners, an Istio-named cluster with two endpoints, a plain cluster and
    one with outlier detection."""

    def setUp(self):
        super().setUp()
        self.a, self.b = self.start_echo("a"), self.start_echo("b")
        bs = h.Bootstrap()
        bs.add_cluster(REVIEWS, [("127.0.0.1", self.a.port), ("127.0.0.1", self.b.port)],
                       metadata=istio_metadata("destination-rule", "reviews"))
        bs.add_cluster("plain", [("127.0.0.1", self.a.port)])
        bs.add_cluster("od", [("127.0.0.1", self.b.port)], outlier_detection={
            "consecutive_5xx": 1, "base_ejection_time": "60s", "max_ejection_percent": 100})
        to_reviews = route(REVIEWS, prefix="/r", name="to-reviews")
        to_reviews["metadata"] = istio_metadata("virtual-service", "reviews-vs")
        bs.add_http_listener("http_in", [
            vhost([to_reviews,
                   route("od", prefix="/od/", prefix_rewrite="/status/", name="to-od"),
                   route("plain", name="default")],
                  domains=("reviews", "reviews:9080"),
                  name="reviews.default.svc.cluster.local:9080"),
            vhost([route(direct=(200, "hi"))])])
        bs.add_tcp_proxy_listener("tcp_out", "plain")
        self.proxy = self.start_proxy(bs)

    def send(self, path, n, status=200):
        for _ in range(n):
            self.assertStatus(h.http_request(self.proxy.port("http_in"), path=path,
                                             host="reviews"), status)

    def test_listeners(self):
        rows = self.rows("listeners")
        self.assertEqual([(r["ADDRESSES"], r["PORT"], r["MATCH"]) for r in rows], sorted(
            [("127.0.0.1", str(self.proxy.port(n)), "ALL") for n in ("http_in", "tcp_out")],
            key=lambda r: int(r[1])))
        dest = {r["PORT"]: r["DESTINATION"] for r in rows}
        self.assertEqual(dest[str(self.proxy.port("tcp_out"))], "Cluster: plain")
        self.assertEqual(dest[str(self.proxy.port("http_in"))],
                         "Inline Route: reviews/reviews:9080 /r*, /od/*, /*; /*")
        docs = self.json_out("proxy-config", "listeners", "-o", "json")
        self.assertEqual(sorted(l["name"] for l in docs), ["http_in", "tcp_out"])
        only = self.rows("listeners", "--port", str(self.proxy.port("tcp_out")))
        self.assertEqual([r["DESTINATION"] for r in only], ["Cluster: plain"])

    def test_routes(self):
        rows = self.rows("routes")
        self.assertEqual([(r["NAME"], r["VHOST NAME"], r["DOMAINS"], r["MATCH"],
                           r["VIRTUAL SERVICE"]) for r in rows], [
            ("http_in_route", "reviews.default.svc.cluster.local:9080", "reviews", "/r*",
             "reviews-vs.default"),
            ("http_in_route", "reviews.default.svc.cluster.local:9080", "reviews", "/od/*",
             "to-od"),
            ("http_in_route", "reviews.default.svc.cluster.local:9080", "reviews", "/*",
             "default"),
            ("http_in_route", "vh_any", "*", "/*", "")])
        docs = self.json_out("proxy-config", "routes", "--name", "http_in_route", "-o", "json")
        self.assertEqual([len(rc["virtual_hosts"]) for rc in docs], [2])

    def test_clusters(self):
        rows = self.rows("clusters")
        got = [(r["SERVICE FQDN"], r["PORT"], r["SUBSET"], r["DIRECTION"], r["TYPE"],
                r["DESTINATION RULE"]) for r in rows]
        self.assertEqual(got, [("od", "-", "-", "-", "STATIC", ""),
                               ("plain", "-", "-", "-", "STATIC", ""),
                               ("reviews.default.svc.cluster.local", "9080", "v1", "outbound",
                                "STATIC", "reviews.default")])
        docs = self.json_out("proxy-config", "clusters", "-o", "json")
        self.assertEqual(sorted(c["name"] for c in docs), sorted([REVIEWS, "plain", "od"]))
        rows = self.rows("clusters", "--name", "reviews.default.svc.cluster.local")
        self.assertEqual([r["SUBSET"] for r in rows], ["v1"])

    def test_endpoints_and_outlier_ejection(self):
        rows = self.rows("endpoints")
        a, b = f"127.0.0.1:{self.a.port}", f"127.0.0.1:{self.b.port}"
        self.assertEqual([(r["ENDPOINT"], r["STATUS"], r["OUTLIER CHECK"], r["CLUSTER"])
                          for r in rows], [
            (b, "HEALTHY", "OK", "od"),
            *sorted([(a, "HEALTHY", "OK", REVIEWS), (b, "HEALTHY", "OK", REVIEWS)],
                    key=lambda r: int(r[0].rsplit(":", 1)[1])),
            (a, "HEALTHY", "OK", "plain")])
        self.send("/od/503", 1, status=503)  # consecutive_5xx: 1 ejects od's only host
        h.poll_until(lambda: self.rows("endpoints", "--name", "od")[0]["OUTLIER CHECK"] == "FAILED",
                     what="od's host shown as FAILED")
        docs = self.json_out("proxy-config", "endpoints", "--name", REVIEWS, "-o", "json")
        self.assertEqual([c["name"] for c in docs], [REVIEWS])
        self.assertEqual(len(docs[0]["host_statuses"]), 2)

    def test_stats_filter_counts_requests(self):
        self.send("/r/x", 7)
        self.send("/", 3)

        def counts():
            out = self.ctl("stats", "--filter", r"^cluster\..*\.upstream_rq_total$")[0]
            return dict(l.rsplit(": ", 1) for l in out.splitlines())
        want = {f"cluster.{REVIEWS}.upstream_rq_total": "7", "cluster.plain.upstream_rq_total": "3",
                "cluster.od.upstream_rq_total": "0"}
        h.poll_until(lambda: counts() == want, what=f"stats {want} (last {counts()})")
        doc = self.json_out("stats", "--filter", "plain.upstream_rq_total$", "-o", "json")
        self.assertEqual(doc["stats"], [{"name": "cluster.plain.upstream_rq_total", "value": 3}])
        prom = self.ctl("stats", "--prometheus", "--filter", "upstream_rq_total")[0]
        self.assertIn('envoy_cluster_upstream_rq_total{envoy_cluster_name="plain"} 3', prom)
        _, err = self.ctl("stats", "--filter", "(", rc=1)
        self.assertIn("Invalid re2 regex", err)

    def test_bootstrap_server_info_ready(self):
        boot = self.json_out("proxy-config", "bootstrap", "-o", "json")
        self.assertEqual(len(boot["bootstrap"]["static_resources"]["clusters"]), 3)
        rows = {r["FIELD"]: r["VALUE"] for r in self.rows("bootstrap")}
        self.assertEqual(rows["static listeners"], "2")
        self.assertEqual(rows["admin"], f"127.0.0.1:{self.proxy.admin_port}")
        self.assertEqual(self.json_out("server-info", "-o", "json")["state"], "LIVE")
        self.assertEqual(parse_table(self.ctl("server-info")[0])[0]["STATE"], "LIVE")
        self.assertEqual(self.ctl("ready")[0].strip(), "LIVE")

    def test_unreachable_admin_is_exit_1(self):
        dead = f"127.0.0.1:{h.free_port()}"
        for args in (["proxy-config", "clusters"], ["stats"], ["ready"]):
            out, err = self.ctl(*args, admin=dead, rc=1)
            self.assertEqual(out, "")
            self.assertIn(f"cannot reach the admin port at {dead}", err)
        # istioctl-style: the flag after the subcommand; the default from $PILOTFISH_ADMIN.
        for argv, env in ((["proxy-config", "listeners", "--admin", dead], {}),
                          (["stats"], {"PILOTFISH_ADMIN": dead})):
            p = subprocess.run([sys.executable, CTL, *argv], env=dict(os.environ, **env),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn(f"cannot reach the admin port at {dead}", p.stderr.decode())


class XdsCtlTest(XdsCase, CtlCase):
    """Listeners, routes, clusters and endpoints pushed over ADS show up next to the static
    xds_cluster."""

    def test_dynamic_resources(self):
        a, b = self.start_echo("a"), self.start_echo("b")
        port = h.free_port()
        self.push("cds", [eds_cluster(RATINGS)])
        self.push("eds", [assignment(RATINGS, [a.port, b.port])])
        self.push("lds", [listener("dyn_http", port, "9080")])
        self.push("rds", [route_config("9080", cluster=RATINGS)])
        self.start_cp()
        self.proxy = self.start_proxy(self.bootstrap())
        for _ in range(4):
            self.assertStatus(h.http_request(port), 200)

        self.assertEqual([(r["ADDRESSES"], r["PORT"], r["MATCH"], r["DESTINATION"])
                          for r in self.rows("listeners")],
                         [("127.0.0.1", str(port), "ALL", "Route: 9080")])
        self.assertEqual([(r["NAME"], r["VHOST NAME"], r["DOMAINS"], r["MATCH"])
                          for r in self.rows("routes")], [("9080", "all", "*", "/*")])
        self.assertEqual([(r["SERVICE FQDN"], r["PORT"], r["SUBSET"], r["DIRECTION"], r["TYPE"])
                          for r in self.rows("clusters")],
                         [("ratings.default.svc.cluster.local", "9080", "-", "outbound", "EDS"),
                          ("xds_cluster", "-", "-", "-", "STATIC")])
        eps = {(r["ENDPOINT"], r["STATUS"], r["CLUSTER"]) for r in self.rows("endpoints")}
        self.assertLessEqual({(f"127.0.0.1:{e.port}", "HEALTHY", RATINGS) for e in (a, b)}, eps)
        rows = {r["FIELD"]: r["VALUE"] for r in self.rows("bootstrap")}
        self.assertEqual(rows["dynamic resources"], "lds_config, cds_config (ads: GRPC)")
        stat = f"^cluster\\.{re.escape(RATINGS)}\\.upstream_rq_total$"
        out = self.ctl("stats", "--filter", stat)[0]
        self.assertEqual(out.strip(), f"cluster.{RATINGS}.upstream_rq_total: 4")


class FakeAdminTest(CtlCase):
    """Shapes pilotfish does not produce itself, served by a canned admin port: filter chain
    matches, a default filter chain, an HCM's inline route config missing from the routes
    section, a warming listener and cluster, a host failing active health checks."""

    LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"

    def setUp(self):
        super().setUp()
        hcm = {"@type": h.HCM_TYPE, "route_config": {"name": "inline", "virtual_hosts": [
            {"name": "a", "domains": ["a.example"], "routes": [{"match": {"path": "/x"},
                                                                 "direct_response": {
                                                                     "status": 200}}]}]}}
        inbound = {"@type": self.LISTENER, "name": "virtualInbound", "address": {
            "socket_address": {"address": "0.0.0.0", "port_value": 15006}}, "filter_chains": [
            {"filter_chain_match": {"destination_port": 9080, "transport_protocol": "tls",
                                    "prefix_ranges": [{"address_prefix": "10.0.0.0",
                                                       "prefix_len": 8}]},
             "filters": [{"name": h.HCM_NAME, "typed_config": hcm}]}],
            "default_filter_chain": {"filters": [{"name": h.TCP_PROXY_NAME, "typed_config": {
                "@type": h.TCP_PROXY_TYPE, "cluster": "InboundPassthroughCluster"}}]}}
        warming = {"@type": self.LISTENER, "name": "w", "address": {
            "socket_address": {"address": "127.0.0.1", "port_value": 9}}, "filter_chains": [
            {"filters": [{"name": h.TCP_PROXY_NAME, "typed_config": {
                "@type": h.TCP_PROXY_TYPE, "cluster": "c"}}]}]}
        admin = "type.googleapis.com/envoy.admin.v3."
        dump = {"configs": [
            {"@type": admin + "ClustersConfigDump", "dynamic_warming_clusters": [
                {"cluster": {"name": "outbound|80||w.ns.svc.cluster.local", "type": "EDS"}}]},
            {"@type": admin + "ListenersConfigDump",
             "static_listeners": [{"listener": inbound}],
             "dynamic_listeners": [{"name": "w", "warming_state": {"listener": warming}}]}]}
        clusters = {"cluster_statuses": [{"name": "c", "host_statuses": [
            {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}},
             "health_status": {"failed_active_health_check": True,
                               "eds_health_status": "HEALTHY"}}]}]}
        pages = {"/config_dump": dump, "/clusters": clusters}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(pages[self.path.split("?")[0]]).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.admin = f"127.0.0.1:{server.server_address[1]}"

    def test_shapes(self):
        rows = parse_table(self.ctl("proxy-config", "listeners", admin=self.admin)[0])
        self.assertEqual([(r["ADDRESSES"], r["PORT"], r["MATCH"], r["DESTINATION"])
                          for r in rows], [
            ("127.0.0.1", "9", "ALL", "Cluster: c (warming)"),
            ("0.0.0.0", "15006", "Trans: tls; Addr: 10.0.0.0/8:9080",
             "Inline Route: a.example /x"),
            ("0.0.0.0", "15006", "ALL", "InboundPassthroughCluster")])
        rows = parse_table(self.ctl("proxy-config", "routes", admin=self.admin)[0])
        self.assertEqual([(r["NAME"], r["VHOST NAME"], r["DOMAINS"], r["MATCH"]) for r in rows],
                         [("inline", "a", "a.example", "/x")])
        rows = parse_table(self.ctl("proxy-config", "clusters", admin=self.admin)[0])
        self.assertEqual([(r["SERVICE FQDN"], r["PORT"], r["DIRECTION"], r["TYPE"])
                          for r in rows], [("w.ns.svc.cluster.local", "80", "outbound",
                                            "EDS (warming)")])
        rows = parse_table(self.ctl("proxy-config", "endpoints", admin=self.admin)[0])
        self.assertEqual([(r["ENDPOINT"], r["STATUS"], r["OUTLIER CHECK"]) for r in rows],
                         [("10.0.0.1:80", "UNHEALTHY", "OK")])


if __name__ == "__main__":
    h.main()
