#!/usr/bin/env python3
"""initial_fetch_timeout as Envoy honours it: each xDS subscription (CDS, LDS, a listener's RDS
route config, an EDS cluster's assignment) holds initialization only until its first answer or
its timeout (default 15 s; 0 waits forever, as Istio sets LDS/CDS). A timeout counts
<scope>.init_fetch_timeout and the proxy goes on with what it has: LIVE with the static
listeners, an EDS cluster without endpoints (503 UH), a listener without its routes (404 NR)."""

import os
import time

import harness as h
from test_xds import ADS, CLUSTER_TYPE, XDS_BIN, assignment, eds_cluster, listener, route_config, served_by
from xds_server import XdsServer


def source(timeout):
    return {**ADS, "initial_fetch_timeout": timeout}


def stats(proxy):
    text = h.http_request(proxy.admin_port, "GET", "/stats", timeout=5).body.decode()
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        out[name] = value
    return out


def ready_status(proxy):
    return h.http_request(proxy.admin_port, "GET", "/ready", timeout=5).status


class InitialFetchTimeoutTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        h.skip_ads_under_tsan(self)
        h.require_binary(XDS_BIN, "pf_xds_server")
        self.cp = XdsServer(XDS_BIN, os.path.join(self.tmpdir, "xds"))
        self.addCleanup(self.cp.stop)

    def bootstrap(self, cds=None, lds=None, cp_port=None):
        """A static listener "static" (-> echo "s") plus ADS to the control plane."""
        self.echo = self.start_echo("s")
        b = h.Bootstrap()
        b.add_cluster("static_cluster", [("127.0.0.1", self.echo.port)])
        b.add_http_listener("static", [h.vhost([h.route("static_cluster")])])
        b.add_cluster("xds_cluster", [("127.0.0.1", cp_port or self.cp.port)],
                      http2_protocol_options={})
        b.extra["node"] = {"id": "test-id", "cluster": "test-cluster"}
        dyn = {"ads_config": {"api_type": "GRPC", "transport_api_version": "V3",
                              "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]}}
        if cds is not None:
            dyn["cds_config"] = cds
        if lds is not None:
            dyn["lds_config"] = lds
        b.extra["dynamic_resources"] = dyn
        return b

    def wait_live(self, proxy, timeout):
        h.poll_until(lambda: ready_status(proxy) == 200, timeout=timeout,
                     what=f"/ready 200{self.diag()}")

    def test_cds_timeout_with_control_plane_down_goes_live(self):
        down_port = h.free_port()  # nothing listens there
        start = time.monotonic()
        proxy = self.start_proxy(self.bootstrap(cds=source("1s"), lds=source("1s"),
                                                cp_port=down_port), admin_ready=False)
        # Static listeners serve while the xDS subscriptions still wait.
        self.assertEqual(served_by(h.http_request(proxy.port("static"))), "s")
        self.wait_live(proxy, 10)
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.9)
        s = stats(proxy)
        self.assertEqual(s.get("cluster_manager.cds.init_fetch_timeout"), "1", self.diag())
        self.assertEqual(s.get("listener_manager.lds.init_fetch_timeout"), "1")
        self.assertEqual(s.get("server.state"), "0")  # LIVE
        self.assertEqual(served_by(h.http_request(proxy.port("static"))), "s")

    def test_cds_only_times_out_alone(self):
        proxy = self.start_proxy(self.bootstrap(cds=source("1s"), cp_port=h.free_port()),
                                 admin_ready=False)
        self.wait_live(proxy, 10)
        self.assertEqual(stats(proxy).get("cluster_manager.cds.init_fetch_timeout"), "1")

    def test_zero_waits_forever_until_the_control_plane_answers(self):
        # Istio's bootstrap: lds/cds over ADS with initial_fetch_timeout 0s.
        self.cp.port = h.free_port()  # start() later binds this port
        proxy = self.start_proxy(self.bootstrap(cds=source("0s"), lds=source("0s"),
                                                cp_port=self.cp.port), admin_ready=False)
        deadline = time.monotonic() + 2.5  # well past a 1 s timeout, not asserting speed
        while time.monotonic() < deadline:
            self.assertEqual(ready_status(proxy), 503)
            time.sleep(0.1)
        s = stats(proxy)
        self.assertEqual(s.get("server.state"), "3")  # INITIALIZING
        self.assertNotIn("cluster_manager.cds.init_fetch_timeout", s)
        self.assertEqual(served_by(h.http_request(proxy.port("static"))), "s")
        # The control plane comes up: the first answers complete initialization.
        self.cp.write("cds.yaml", [])
        self.cp.write("lds.yaml", [])
        self.cp.start()
        self.wait_live(proxy, 15)
        self.assertNotIn("cluster_manager.cds.init_fetch_timeout", stats(proxy))

    def test_eds_cluster_without_endpoints_goes_active_after_its_timeout(self):
        a = self.start_echo("a")
        port = h.free_port()
        self.cp.write("cds.yaml", [
            eds_cluster("c0"),
            eds_cluster("missing", eds_cluster_config={"eds_config": source("1s")})])
        self.cp.write("eds.yaml", [assignment("c0", [a.port])])  # nothing for "missing"
        self.cp.write("lds.yaml", [listener("http", port, "r")])
        self.cp.write("rds.yaml", [route_config("r", cluster="c0", extra_routes=[
            {"match": {"prefix": "/missing"}, "route": {"cluster": "missing"}}])])
        self.cp.start()
        start = time.monotonic()
        proxy = self.start_proxy(self.bootstrap(cds=ADS, lds=ADS), admin_ready=False)
        self.wait_live(proxy, 10)
        self.assertGreaterEqual(time.monotonic() - start, 0.9)
        r = h.http_request(port, path="/missing", timeout=5)
        self.assertEqual(r.status, 503, r)
        self.assertIn(b"no healthy upstream", r.body)
        self.assertEqual(served_by(h.http_request(port, timeout=5)), "a")
        s = stats(proxy)
        self.assertEqual(s.get("cluster.missing.init_fetch_timeout"), "1", self.diag())
        self.assertNotIn("cluster.c0.init_fetch_timeout", s)
        # Endpoints arriving later are used.
        self.cp.write("eds.yaml", [assignment("c0", [a.port]), assignment("missing", [a.port])])
        h.poll_until(lambda: h.http_request(port, path="/missing", timeout=5).status == 200,
                     timeout=10, what="/missing served once its endpoints arrive")

    def test_listener_without_its_routes_goes_active_after_the_rds_timeout(self):
        a = self.start_echo("a")
        port = h.free_port()
        lis = listener("http", port, "never")
        hcm = lis["filter_chains"][0]["filters"][0]["typed_config"]
        hcm["rds"]["config_source"] = source("1s")
        self.cp.write("cds.yaml", [eds_cluster("c0")])
        self.cp.write("eds.yaml", [assignment("c0", [a.port])])
        self.cp.write("lds.yaml", [lis])
        self.cp.start()
        proxy = self.start_proxy(self.bootstrap(cds=ADS, lds=ADS), admin_ready=False)
        self.wait_live(proxy, 10)
        r = h.http_request(port, timeout=5)
        self.assertEqual(r.status, 404, r)  # NR: no route config
        self.assertEqual(stats(proxy).get("http.http.rds.never.init_fetch_timeout"), "1",
                         self.diag())
        # The route config arriving later is used.
        self.cp.write("rds.yaml", [route_config("never", cluster="c0")])
        h.poll_until(lambda: h.http_request(port, timeout=5).status == 200, timeout=10,
                     what="routes used once they arrive")

    def test_rejected_first_cds_lets_initialization_go_on(self):
        # Envoy: a rejected first response ends the wait like an answer (no timeout counted).
        self.cp.write("cds.yaml", [{"@type": CLUSTER_TYPE, "name": "weird", "connect_timeout": "1s",
                                    "cluster_type": {"name": "envoy.clusters.redis"}}])
        self.cp.write("lds.yaml", [])
        self.cp.start()
        proxy = self.start_proxy(self.bootstrap(cds=source("0s"), lds=source("0s")),
                                 admin_ready=False)
        self.wait_live(proxy, 10)
        s = stats(proxy)
        self.assertEqual(s.get("cluster_manager.cds.update_rejected"), "1", self.diag())
        self.assertNotIn("cluster_manager.cds.init_fetch_timeout", s)


if __name__ == "__main__":
    h.main()
