#!/usr/bin/env python3
"""xDS as a mesh uses it: pilotfish gets every listener, route, cluster and endpoint from a real
gRPC control plane (tools/xds_server, serving a directory of resource files) over ADS, in both
state-of-the-world and delta mode, and applies each push to the next requests; bad pushes are
NACKed with a message while traffic keeps flowing on the last good config; a control plane
restart is survived."""

import os
import socket
import time

import harness as h
from xds_server import XdsServer

XDS_BIN = os.environ.get("PF_XDS_SERVER") or os.path.join(
    h.SOURCE_DIR, "build", "tools", "pf_xds_server")

LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
CLA_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
ADS = {"ads": {}, "resource_api_version": "V3"}


def listener(name, port, rds):
    hcm = {"@type": h.HCM_TYPE, "stat_prefix": name, "http_filters": [h.ROUTER_FILTER],
           "rds": {"route_config_name": rds, "config_source": ADS}}
    return {"@type": LISTENER_TYPE, "name": name,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [{"name": h.HCM_NAME, "typed_config": hcm}]}]}


def eds_cluster(name, **extra):
    c = {"@type": CLUSTER_TYPE, "name": name, "type": "EDS", "connect_timeout": "1s",
         "eds_cluster_config": {"eds_config": ADS}}
    c.update(extra)
    return c


def assignment(name, ports):
    return {"@type": CLA_TYPE, "cluster_name": name, "endpoints": [{"lb_endpoints": [
        {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": p}}}}
        for p in ports]}]}


def route_config(name, clusters_weights=None, cluster=None, prefix="/", extra_routes=()):
    if cluster is not None:
        action = {"cluster": cluster}
    else:
        action = {"weighted_clusters": {"clusters": [
            {"name": c, "weight": w} for c, w in clusters_weights]}}
    return {"@type": ROUTE_TYPE, "name": name, "virtual_hosts": [{
        "name": "all", "domains": ["*"],
        "routes": list(extra_routes) + [{"match": {"prefix": prefix}, "route": action}]}]}


def served_by(resp):
    return resp.header("x-echo-server")


class XdsCase(h.ProxyTestCase):
    DELTA = False

    def setUp(self):
        super().setUp()
        h.skip_ads_under_tsan(self)
        h.require_binary(XDS_BIN, "pf_xds_server")
        self.cp_dir = os.path.join(self.tmpdir, "xds")
        os.makedirs(self.cp_dir)
        self.cp = XdsServer(XDS_BIN, self.cp_dir)
        self.addCleanup(self.cp.stop)

    def push(self, name, resources):
        self.cp.write(name + ".yaml", resources)

    def start_cp(self):
        self.cp.start()
        return self.cp

    def bootstrap(self):
        b = h.Bootstrap()
        b.add_cluster("xds_cluster", [("127.0.0.1", self.cp.port)],
                      http2_protocol_options={})
        b.extra["node"] = {"id": "test-id", "cluster": "test-cluster"}
        b.extra["dynamic_resources"] = {
            "ads_config": {"api_type": "DELTA_GRPC" if self.DELTA else "GRPC",
                           "transport_api_version": "V3",
                           "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}],
                           "set_node_on_first_message_only": True},
            "lds_config": ADS, "cds_config": ADS}
        return b

    def base_config(self, port, echoes, weights=None):
        """Listener on `port` -> route "r" -> clusters c0..cN (one echo each)."""
        clusters = [eds_cluster(f"c{i}") for i in range(len(echoes))]
        cla = [assignment(f"c{i}", [e.port]) for i, e in enumerate(echoes)]
        weights = weights or [100] + [0] * (len(echoes) - 1)
        self.push("cds", clusters)
        self.push("eds", cla)
        self.push("lds", [listener("http", port, "r")])
        self.push("rds", [route_config("r", list(zip([c["name"] for c in clusters], weights)))])

    def get(self, port, path="/"):
        return h.http_request(port, path=path, timeout=5)

    def wait_served_by(self, port, name, timeout=10.0, path="/"):
        last = []

        def ok():
            try:
                r = self.get(port, path)
            except OSError as e:
                last[:] = [e]
                return False
            last[:] = [r]
            return r.status == 200 and served_by(r) == name
        h.poll_until(ok, timeout=timeout, what=f"requests served by {name} (last {last})")

    def start_synced_proxy(self, echoes, weights=None):
        self.port = h.free_port()
        self.base_config(self.port, echoes, weights)
        self.start_cp()
        proxy = self.start_proxy(self.bootstrap())
        return proxy


class StateOfTheWorldTest(XdsCase):
    DELTA = False

    def test_initial_sync_then_traffic_and_route_weight_flip(self):
        a, b = self.start_echo("a"), self.start_echo("b")
        self.start_synced_proxy([a, b])
        # Ready (admin /ready 200) only after the first CDS/EDS/LDS/RDS: the first request works.
        self.assertEqual(served_by(self.get(self.port)), "a")
        self.cp.wait_for(r"ACK type=\S*Listener", 5)
        self.push("rds", [route_config("r", [("c0", 0), ("c1", 100)])])
        self.wait_served_by(self.port, "b")
        # Every request after the switch goes to b.
        self.assertEqual({served_by(self.get(self.port)) for _ in range(20)}, {"b"})

    def test_cluster_added_and_removed(self):
        a = self.start_echo("a")
        self.start_synced_proxy([a])
        n = self.start_echo("new")
        self.push("cds", [eds_cluster("c0"), eds_cluster("extra")])
        self.push("eds", [assignment("c0", [a.port]), assignment("extra", [n.port])])
        self.push("rds", [route_config("r", cluster="c0", extra_routes=[
            {"match": {"prefix": "/extra"}, "route": {"cluster": "extra"}}])])
        self.wait_served_by(self.port, "new", path="/extra")
        self.assertEqual(served_by(self.get(self.port, "/")), "a")
        # Removed: the route now names a cluster that is gone -> 503 NC (no cluster).
        self.push("cds", [eds_cluster("c0")])
        h.poll_until(lambda: self.get(self.port, "/extra").status == 503, timeout=10,
                     what="503 once the cluster is removed")
        r = self.get(self.port, "/extra")
        self.assertEqual(r.status, 503)
        self.assertEqual(served_by(self.get(self.port, "/")), "a")

    def test_endpoints_scale_1_to_10_to_1(self):
        echoes = [self.start_echo(f"e{i}") for i in range(10)]
        self.start_synced_proxy([echoes[0]])
        self.push("eds", [assignment("c0", [e.port for e in echoes])])

        def all_ten():
            seen = {served_by(self.get(self.port)) for _ in range(40)}
            return seen == {f"e{i}" for i in range(10)}
        h.poll_until(all_ten, timeout=15, what="all 10 endpoints serving")
        self.push("eds", [assignment("c0", [echoes[3].port])])
        h.poll_until(lambda: {served_by(self.get(self.port)) for _ in range(10)} == {"e3"},
                     timeout=15, what="only e3 serving")
        self.assertEqual({served_by(self.get(self.port)) for _ in range(20)}, {"e3"})

    def test_unchanged_endpoints_keep_their_host_across_an_eds_update(self):
        """As Envoy: an endpoint still in the new assignment (same address, hostname, weight)
        keeps its Host, so its counters (and pools, outlier state) survive the push; a changed
        one starts afresh."""
        echoes = [self.start_echo(f"e{i}") for i in range(3)]
        proxy = self.start_synced_proxy([echoes[0]])
        self.push("eds", [assignment("c0", [echoes[0].port, echoes[1].port])])
        h.poll_until(lambda: {served_by(self.get(self.port)) for _ in range(20)} == {"e0", "e1"},
                     timeout=15, what="e0 and e1 serving")

        def rq_total(echo):
            key = f"c0::127.0.0.1:{echo.port}::rq_total::"
            body = h.http_request(proxy.admin_port, "GET", "/clusters").body.decode()
            for line in body.splitlines():
                if line.startswith(key):
                    return int(line[len(key):])
            return None
        before = [rq_total(echoes[0]), rq_total(echoes[1])]
        self.assertTrue(all(n and n > 0 for n in before), before)
        # e1 changes weight (a new Host); e0 is unchanged; e2 is new.
        cla = assignment("c0", [echoes[0].port, echoes[1].port, echoes[2].port])
        cla["endpoints"][0]["lb_endpoints"][1]["load_balancing_weight"] = 2
        self.push("eds", [cla])
        h.poll_until(lambda: rq_total(echoes[2]) is not None, timeout=15, what="e2 added")
        self.assertGreaterEqual(rq_total(echoes[0]), before[0])
        self.assertEqual(rq_total(echoes[1]), 0)
        self.assertEqual(rq_total(echoes[2]), 0)

    def test_eds_update_keeps_the_pool_of_a_kept_host_and_drains_a_removed_one(self):
        """An endpoint that stays across an EDS push keeps its upstream connections (no new
        connect); the pool of a removed endpoint is drained, so its idle connections close."""
        e0, e1, e2 = (self.start_echo(f"e{i}") for i in range(3))
        self.port = h.free_port()
        self.base_config(self.port, [e0])
        self.start_cp()
        self.start_proxy(self.bootstrap(), concurrency=1)
        self.push("eds", [assignment("c0", [e0.port, e1.port])])
        h.poll_until(lambda: {served_by(self.get(self.port)) for _ in range(10)} == {"e0", "e1"},
                     timeout=15, what="e0 and e1 serving")
        before = e0.counters()
        self.assertGreater(before["connections_active"], 0, before)
        self.assertGreater(e1.counters()["connections_active"], 0)
        self.push("eds", [assignment("c0", [e0.port, e2.port])])
        h.poll_until(lambda: {served_by(self.get(self.port)) for _ in range(10)} == {"e0", "e2"},
                     timeout=15, what="e0 and e2 serving")
        h.poll_until(lambda: e1.counters()["connections_active"] == 0, timeout=10,
                     what="the removed endpoint's pool drained")
        after = e0.counters()
        self.assertGreater(after["requests_total"], before["requests_total"])
        self.assertEqual(after["connections_total"], before["connections_total"],
                         "the kept endpoint's pool was rebuilt by the update")

    def test_listener_added_on_new_port_and_removed(self):
        a = self.start_echo("a")
        self.start_synced_proxy([a])
        port2 = h.free_port()
        self.push("lds", [listener("http", self.port, "r"), listener("second", port2, "r2")])
        self.push("rds", [route_config("r", cluster="c0"), route_config("r2", cluster="c0")])
        self.wait_served_by(port2, "a")
        # Removal: the port stops accepting; the first listener is untouched.
        with h.RawConn(self.port) as kept:
            kept.send(h.build_request("GET", "/"))
            self.assertEqual(kept.read_response().status, 200)
            self.push("lds", [listener("http", self.port, "r")])
            h.poll_until(lambda: not h.can_connect(port2), timeout=10,
                         what="removed listener closed")
            # A keep-alive connection on the unchanged listener was not drained or closed.
            kept.send(h.build_request("GET", "/"))
            r = kept.read_response()
            self.assertEqual(r.status, 200)
            self.assertNotEqual((r.header("connection") or "").lower(), "close")

    def test_bad_updates_are_nacked_and_traffic_continues(self):
        a = self.start_echo("a")
        self.start_synced_proxy([a])
        self.cp.wait_for(r"ACK type=\S*RouteConfiguration", 5)
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        bad_pushes = [
            # A cluster type (extension) pilotfish does not implement.
            ("cds", [eds_cluster("c0"),
                     {"@type": CLUSTER_TYPE, "name": "weird", "connect_timeout": "1s",
                      "cluster_type": {"name": "envoy.clusters.redis"}}],
             r"NACK type=\S*Cluster.*weird.*cluster_type"),
            ("rds", [route_config("r", cluster="c0", extra_routes=[
                {"match": {"safe_regex": {"regex": "(unclosed"}}, "route": {"cluster": "c0"}}])],
             r"NACK type=\S*RouteConfiguration.*regex"),
            ("lds", [listener("http", self.port, "r"),
                     listener("taken", busy.getsockname()[1], "r")],
             r"NACK type=\S*Listener.*(in use|taken)"),
        ]
        for name, resources, nack in bad_pushes:
            with self.subTest(push=name):
                mark = self.cp.mark()
                self.push(name, resources)
                self.cp.wait_for(nack, 10, since=mark)
                self.assertEqual(served_by(self.get(self.port)), "a")
        # After the bad pushes, a good one is still accepted.
        b = self.start_echo("b")
        self.push("cds", [eds_cluster("c0"), eds_cluster("c1")])
        self.push("eds", [assignment("c0", [a.port]), assignment("c1", [b.port])])
        self.push("lds", [listener("http", self.port, "r")])
        self.push("rds", [route_config("r", cluster="c1")])
        self.wait_served_by(self.port, "b")

    def test_control_plane_restart(self):
        a, b = self.start_echo("a"), self.start_echo("b")
        self.start_synced_proxy([a, b])
        self.cp.wait_for(r"ACK type=\S*RouteConfiguration", 5)
        self.cp.stop()
        # Traffic keeps flowing on the last config while the control plane is gone.
        for _ in range(20):
            self.assertEqual(served_by(self.get(self.port)), "a")
            time.sleep(0.05)
        self.push("rds", [route_config("r", [("c0", 0), ("c1", 100)])])
        self.cp.start()
        # The client reconnects (back-off) and resyncs; the change made meanwhile arrives.
        self.wait_served_by(self.port, "b", timeout=40)


class RuntimeFlagTest(XdsCase):
    def test_fragment_flag_reaches_listeners_from_lds(self):
        # The bootstrap's runtime (Istio's http_reject_path_with_fragment: false) applies to an
        # HCM that arrives over LDS too, not only to static listeners.
        echo = self.start_echo("frag")
        self.port = h.free_port()
        self.base_config(self.port, [echo])
        self.start_cp()
        b = self.bootstrap()
        b.extra["layered_runtime"] = {"layers": [{"name": "global config", "static_layer": {
            "envoy.reloadable_features.http_reject_path_with_fragment": False}}]}
        self.start_proxy(b)
        self.wait_served_by(self.port, "frag")
        r = h.raw_request(self.port, b"GET /a#x HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["path"], "/a")


class DeltaTest(StateOfTheWorldTest):
    DELTA = True



if __name__ == "__main__":
    h.main()
