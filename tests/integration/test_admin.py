#!/usr/bin/env python3
"""The admin endpoint (:15000) in Envoy's formats, as istioctl proxy-config and dashboards read it:
/config_dump (static and xDS, ?include_eds, ?resource=, ?mask=, ?name_regex=) parses back into
envoy.admin.v3.ConfigDump and holds exactly what was loaded or pushed; /clusters and /listeners in
text and JSON; /server_info, /memory, /runtime, /certs; the POST-only controls /logging,
/healthcheck/fail|ok, /drain_listeners; /healthz/ready for Kubernetes.

Messages are checked with tools/config_dump_check (pf_config_dump_check): it parses JSON into the
named Envoy message, rejecting unknown fields, and prints it back in canonical form."""

import json
import os
import re
import subprocess

import harness as h
from harness import route, vhost
from test_xds import (XdsCase, assignment, eds_cluster, listener, route_config, CLA_TYPE,
                      CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE)

CHECK_BIN = os.environ.get("PF_CONFIG_DUMP_CHECK") or os.path.join(
    os.path.dirname(os.path.dirname(h.PILOTFISH_BIN)), "tools", "pf_config_dump_check")
ADMIN = "type.googleapis.com/envoy.admin.v3."
JSON_TYPE = "application/json"


def canon(doc, message_type="envoy.admin.v3.ConfigDump"):
    """`doc` (bytes, str or a dict) parsed as `message_type` and printed back canonically."""
    h.require_binary(CHECK_BIN, "pf_config_dump_check")
    data = doc if isinstance(doc, bytes) else (doc if isinstance(doc, str) else json.dumps(doc))
    p = subprocess.run([CHECK_BIN, "--type", message_type],
                       input=data.encode() if isinstance(data, str) else data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise AssertionError(f"not a valid {message_type}: {p.stderr.decode()}\n"
                             f"{data[:2000]!r}")
    return json.loads(p.stdout)


def canon_any(resource):
    """A pushed resource dict (with "@type") in canonical form, as a dump shows it."""
    return canon(resource, "google.protobuf.Any")


def section(dump, name):
    """The config of type envoy.admin.v3.<name> in a (canonical) dump."""
    found = [c for c in dump["configs"] if c["@type"] == ADMIN + name]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} {name} sections in {[c['@type'] for c in dump['configs']]}")
    return found[0]


class AdminCase(h.ProxyTestCase):
    def admin_get(self, path, status=200):
        r = h.http_request(self.proxy.admin_port, "GET", path)
        self.assertEqual(r.status, status, f"GET {path}: {r!r}{self.diag()}")
        return r

    def admin_post(self, path, status=200):
        r = h.http_request(self.proxy.admin_port, "POST", path)
        self.assertEqual(r.status, status, f"POST {path}: {r!r}{self.diag()}")
        return r

    def dump(self, query=""):
        r = self.admin_get("/config_dump" + query)
        self.assertEqual(r.header("content-type"), JSON_TYPE)
        return canon(r.body)

    def lines(self, path):
        return self.admin_get(path).body.decode().splitlines()


class StaticAdminTest(AdminCase):
    """A static bootstrap: an inbound and an outbound listener, two clusters."""

    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("echo")
        b = h.Bootstrap()
        b.add_cluster("echo", [("127.0.0.1", self.echo.port)])
        b.add_cluster("echo_od", [("127.0.0.1", self.echo.port)], alt_stat_name="echo_od_stats",
                      outlier_detection={"consecutive_5xx": 1, "base_ejection_time": "30s",
                                         "max_ejection_percent": 100},
                      circuit_breakers={"thresholds": [
                          {"max_connections": 7, "max_pending_requests": 8, "max_requests": 9,
                           "max_retries": 2},
                          {"priority": "HIGH", "max_connections": 70}]})
        b.add_http_listener("inbound", [vhost([route("echo_od", prefix="/od/",
                                                     prefix_rewrite="/status/"),
                                               route("echo")])])
        b.add_http_listener("outbound", [vhost([route("echo")])])
        b.listeners[0]["traffic_direction"] = "INBOUND"
        b.listeners[1]["traffic_direction"] = "OUTBOUND"
        b.listeners[1]["drain_type"] = "MODIFY_ONLY"
        b.extra["node"] = {"id": "sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local",
                           "cluster": "pod.ns"}
        b.extra["layered_runtime"] = {"layers": [
            {"name": "global config", "static_layer": {
                "overload.global_downstream_max_connections": 2147483647,
                "re2": {"max_program_size": {"error_level": 32768}}}},
            {"name": "admin", "admin_layer": {}}]}
        self.bootstrap = b
        self.proxy = self.start_proxy(b)

    # --- /config_dump

    def test_config_dump_is_the_loaded_bootstrap(self):
        dump = self.dump()
        self.assertEqual([c["@type"] for c in dump["configs"]], [
            ADMIN + "BootstrapConfigDump", ADMIN + "ClustersConfigDump",
            ADMIN + "ListenersConfigDump", ADMIN + "ScopedRoutesConfigDump",
            ADMIN + "RoutesConfigDump", ADMIN + "SecretsConfigDump"])
        with open(self.proxy.config_path) as f:
            loaded = canon(f.read(), "envoy.config.bootstrap.v3.Bootstrap")
        self.assertEqual(section(dump, "BootstrapConfigDump")["bootstrap"], loaded)
        self.assertIn("last_updated", section(dump, "BootstrapConfigDump"))
        static = loaded["static_resources"]
        clusters = section(dump, "ClustersConfigDump")["static_clusters"]
        self.assertEqual([c["cluster"] for c in clusters],
                         [canon_any({"@type": CLUSTER_TYPE, **c}) for c in static["clusters"]])
        listeners = section(dump, "ListenersConfigDump")["static_listeners"]
        self.assertEqual([l["listener"]["name"] for l in listeners], ["inbound", "outbound"])
        self.assertEqual(listeners[0]["listener"],
                         canon_any({"@type": LISTENER_TYPE, **static["listeners"][0]}))
        # Inline route configs of HCMs are Envoy's static route configs.
        routes = section(dump, "RoutesConfigDump")["static_route_configs"]
        self.assertEqual([r["route_config"]["name"] for r in routes],
                         ["inbound_route", "outbound_route"])
        self.assertNotIn("dynamic_route_configs", section(dump, "RoutesConfigDump"))

    def test_config_dump_include_eds(self):
        self.assertNotIn(ADMIN + "EndpointsConfigDump",
                         [c["@type"] for c in self.dump()["configs"]])
        dump = self.dump("?include_eds")
        self.assertEqual(dump["configs"][2]["@type"], ADMIN + "EndpointsConfigDump")
        eps = section(dump, "EndpointsConfigDump")["static_endpoint_configs"]
        self.assertEqual([e["endpoint_config"]["cluster_name"] for e in eps], ["echo", "echo_od"])
        addr = eps[0]["endpoint_config"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        self.assertEqual(addr["socket_address"]["port_value"], self.echo.port)

    def test_config_dump_resource_mask_and_name_regex(self):
        dump = self.dump("?resource=static_clusters")
        self.assertEqual([c["@type"] for c in dump["configs"]],
                         [ADMIN + "ClustersConfigDump.StaticCluster"] * 2)
        self.assertEqual(dump["configs"][1]["cluster"]["name"], "echo_od")
        # A mask per element reaches into the packed resource.
        dump = self.dump("?resource=static_clusters&mask=cluster.name,cluster.alt_stat_name")
        self.assertEqual([{k: v for k, v in c["cluster"].items()} for c in dump["configs"]], [
            {"@type": CLUSTER_TYPE, "name": "echo"},
            {"@type": CLUSTER_TYPE, "name": "echo_od", "alt_stat_name": "echo_od_stats"}])
        self.assertNotIn("last_updated", dump["configs"][0])
        # Without resource, a mask keeps the sections that have the field.
        dump = self.dump("?mask=static_listeners")
        self.assertEqual(len(dump["configs"]), 1)
        self.assertEqual(set(dump["configs"][0]), {"@type", "static_listeners"})
        # name_regex matches whole names.
        dump = self.dump("?name_regex=echo_.*")
        self.assertEqual([c["cluster"]["name"]
                          for c in section(dump, "ClustersConfigDump")["static_clusters"]],
                         ["echo_od"])
        self.assertNotIn("static_listeners", section(dump, "ListenersConfigDump"))
        dump = self.dump("?resource=static_listeners&name_regex=out.*")
        self.assertEqual([c["listener"]["name"] for c in dump["configs"]], ["outbound"])
        self.assertEqual(len(self.dump("?name_regex=echo")["configs"]), 6)

    def test_config_dump_errors_as_envoy(self):
        r = self.admin_get("/config_dump?resource=nope", 404)
        self.assertEqual(r.body, b"nope not found in config dump")
        r = self.admin_get("/config_dump?resource=version_info", 400)
        self.assertEqual(r.body, b"version_info is not a repeated field. Use ?mask=version_info "
                                 b"to get only this field")
        r = self.admin_get("/config_dump?name_regex=(", 400)
        self.assertTrue(r.body.startswith(b"INVALID_ARGUMENT: Error while parsing name_regex"), r)
        r = self.admin_get("/config_dump?resource=static_clusters&mask=nonsense", 400)
        self.assertIn(b"could not be successfully used", r.body)
        r = self.admin_get("/config_dump?mask=nonsense", 400)
        self.assertEqual(r.body, b"FieldMask nonsense could not be successfully applied to any "
                                 b"configs.")

    # --- /clusters and /listeners

    def test_clusters_text(self):
        lines = set(self.lines("/clusters"))
        host = f"127.0.0.1:{self.echo.port}"
        for line in [
                "echo::observability_name::echo",
                "echo::default_priority::max_connections::1024",
                "echo::default_priority::max_pending_requests::1024",
                "echo::default_priority::max_requests::1024",
                "echo::default_priority::max_retries::3",
                "echo::high_priority::max_connections::1024",
                "echo::added_via_api::false",
                f"echo::{host}::cx_total::0", f"echo::{host}::rq_active::0",
                f"echo::{host}::hostname::", f"echo::{host}::health_flags::healthy",
                f"echo::{host}::weight::1", f"echo::{host}::region::",
                f"echo::{host}::canary::false", f"echo::{host}::priority::0",
                f"echo::{host}::success_rate::-1.0",
                f"echo::{host}::local_origin_success_rate::-1.0",
                "echo_od::observability_name::echo_od_stats",
                "echo_od::outlier::success_rate_average::-1",
                "echo_od::outlier::success_rate_ejection_threshold::-1",
                "echo_od::default_priority::max_connections::7",
                "echo_od::default_priority::max_pending_requests::8",
                "echo_od::default_priority::max_requests::9",
                "echo_od::default_priority::max_retries::2",
                "echo_od::high_priority::max_connections::70"]:
            self.assertIn(line, lines)
        self.assertNotIn("echo::outlier::success_rate_average::-1", lines)
        for line in lines:
            self.assertRegex(line, r"^echo(_od)?::")
        # One 5xx ejects the echo_od host (consecutive_5xx: 1): Envoy's failed_outlier_check.
        r = h.raw_request(self.proxy.port("inbound"), h.build_request("GET", "/od/503"))
        self.assertEqual(r.status, 503)
        h.poll_until(lambda: f"echo_od::{host}::health_flags::/failed_outlier_check"
                     in self.lines("/clusters"), what="ejected host flagged")
        self.assertIn(f"echo::{host}::health_flags::healthy", self.lines("/clusters"))
        status = {c["name"]: c for c in canon(self.admin_get("/clusters?format=json").body,
                                              "envoy.admin.v3.Clusters")["cluster_statuses"]}
        self.assertTrue(status["echo_od"]["host_statuses"][0]["health_status"][
            "failed_outlier_check"])

    def test_clusters_host_counters(self):
        host = f"127.0.0.1:{self.echo.port}"
        port = self.proxy.port("inbound")
        with h.RawConn(port) as c:  # one downstream connection: one worker, one upstream one
            for _ in range(3):
                c.send(h.build_request("GET", "/"))
                self.assertEqual(c.read_response().status, 200)
        r = h.raw_request(port, h.build_request("GET", "/od/500"))
        self.assertEqual(r.status, 500)
        expected = {f"echo::{host}::rq_total::3", f"echo::{host}::rq_success::3",
                    f"echo::{host}::rq_error::0", f"echo::{host}::cx_total::1",
                    f"echo::{host}::cx_connect_fail::0", f"echo_od::{host}::rq_total::1",
                    f"echo_od::{host}::rq_error::1", f"echo_od::{host}::rq_success::0"}
        h.poll_until(lambda: expected <= set(self.lines("/clusters")),
                     what="per-host counters: " + " ".join(sorted(expected)))

    def test_clusters_json(self):
        r = self.admin_get("/clusters?format=json")
        self.assertEqual(r.header("content-type"), JSON_TYPE)
        clusters = canon(r.body, "envoy.admin.v3.Clusters")["cluster_statuses"]
        self.assertEqual([c["name"] for c in clusters], ["echo", "echo_od"])
        od = clusters[1]
        self.assertEqual(od["observability_name"], "echo_od_stats")
        self.assertNotIn("added_via_api", od)  # false
        self.assertEqual(od["circuit_breakers"]["thresholds"], [
            {"max_connections": 7, "max_pending_requests": 8, "max_requests": 9,
             "max_retries": 2},
            {"priority": "HIGH", "max_connections": 70, "max_pending_requests": 1024,
             "max_requests": 1024, "max_retries": 3}])
        host = od["host_statuses"][0]
        self.assertEqual(host["address"],
                         {"socket_address": {"address": "127.0.0.1", "port_value": self.echo.port}})
        self.assertEqual(host["health_status"], {"eds_health_status": "HEALTHY"})
        self.assertEqual(host["weight"], 1)
        self.assertEqual([s["name"] for s in host["stats"]],
                         ["cx_connect_fail", "cx_total", "rq_error", "rq_success", "rq_timeout",
                          "rq_total", "cx_active", "rq_active"])
        self.assertEqual(host["stats"][-1].get("type"), "GAUGE")

    def test_listeners_text_and_json(self):
        self.assertEqual(self.lines("/listeners"), [
            f"inbound::127.0.0.1:{self.proxy.port('inbound')}",
            f"outbound::127.0.0.1:{self.proxy.port('outbound')}"])
        r = self.admin_get("/listeners?format=json")
        self.assertEqual(r.header("content-type"), JSON_TYPE)
        self.assertEqual(canon(r.body, "envoy.admin.v3.Listeners"), {"listener_statuses": [
            {"name": name, "local_address": {"socket_address": {
                "address": "127.0.0.1", "port_value": self.proxy.port(name)}}}
            for name in ("inbound", "outbound")]})

    # --- server state and process

    def test_server_info(self):
        r = self.admin_get("/server_info")
        self.assertEqual(r.header("content-type"), JSON_TYPE)
        info = canon(r.body, "envoy.admin.v3.ServerInfo")
        raw = r.json()  # defaults printed too, as Envoy does
        self.assertEqual(raw["state"], "LIVE")
        self.assertEqual(raw["hot_restart_version"], "disabled")
        self.assertRegex(raw["version"], r"^pilotfish/\d+\.\d+\.\d+/")
        self.assertRegex(raw["uptime_current_epoch"], r"^\d+s$")
        self.assertRegex(raw["uptime_all_epochs"], r"^\d+s$")
        opts = raw["command_line_options"]
        self.assertEqual(opts["concurrency"], 2)
        self.assertEqual(opts["drain_time"], "600s")
        self.assertEqual(opts["drain_strategy"], "Gradual")
        self.assertEqual(opts["mode"], "Serve")
        self.assertEqual(opts["config_path"], self.proxy.config_path)
        self.assertIn("restart_epoch", opts)
        self.assertEqual(info["node"]["id"], "sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local")
        self.assertEqual(info["node"]["cluster"], "pod.ns")

    def test_memory_runtime_certs_and_the_rest(self):
        memory = self.admin_get("/memory").json()
        canon(json.dumps(memory), "envoy.admin.v3.Memory")
        self.assertEqual(set(memory), {"allocated", "heap_size", "pageheap_unmapped",
                                       "pageheap_free", "total_thread_cache",
                                       "total_physical_bytes"})
        if not os.environ.get("PF_SANITIZER"):  # ASan's allocator: glibc's mallinfo2 reads 0
            self.assertGreater(int(memory["allocated"]), 0)  # uint64: a JSON string
        self.assertGreater(int(memory["total_physical_bytes"]), 1 << 20)
        runtime = self.admin_get("/runtime").json()
        self.assertEqual(runtime["layers"], ["global config", "admin"])
        self.assertEqual(runtime["entries"]["overload.global_downstream_max_connections"],
                         {"final_value": "2147483647", "layer_values": ["2147483647", ""]})
        self.assertEqual(runtime["entries"]["re2.max_program_size.error_level"]["final_value"],
                         "32768")
        self.admin_get("/runtime_modify?x.y=1", 405)
        self.admin_post("/runtime_modify", 400)
        self.admin_post("/runtime_modify?re2.max_program_size.error_level=100&x.y=on")
        runtime = self.admin_get("/runtime").json()
        self.assertEqual(runtime["entries"]["re2.max_program_size.error_level"],
                         {"final_value": "100", "layer_values": ["32768", "100"]})
        self.assertEqual(runtime["entries"]["x.y"]["final_value"], "on")
        self.assertEqual(self.admin_get("/certs").json(), {"certificates": []})
        self.assertEqual(self.admin_get("/hot_restart_version").body, b"disabled")
        self.assertEqual(canon(self.admin_get("/init_dump").body, "envoy.admin.v3.UnreadyTargetsDumps"),
                         {})
        help_text = self.admin_get("/help").body.decode()
        self.assertEqual(self.admin_get("/").body.decode(), help_text)
        for path in ["/certs", "/clusters", "/config_dump", "/drain_listeners",
                     "/healthcheck/fail", "/healthcheck/ok", "/healthz/ready", "/help",
                     "/hot_restart_version", "/init_dump", "/listeners", "/logging", "/memory",
                     "/quitquitquit", "/ready", "/reset_counters", "/runtime", "/runtime_modify",
                     "/server_info", "/stats", "/stats/prometheus"]:
            self.assertIn(f"\n  {path}: ", help_text)
        r = self.admin_get("/no/such/page", 404)
        self.assertTrue(r.body.startswith(b"invalid path. admin commands are:"), r)

    def test_mutating_get_is_rejected(self):
        for path in ["/logging", "/healthcheck/fail", "/drain_listeners?inboundonly",
                     "/quitquitquit", "/reset_counters", "/runtime_modify?a=b"]:
            r = self.admin_get(path, 405)
            self.assertEqual(r.body, b"Method GET not allowed, POST required.")
        self.assertEqual(self.admin_get("/ready").body, b"LIVE\n")  # nothing happened
        self.assertEqual(h.raw_request(self.proxy.port("inbound"),
                                       h.build_request("GET", "/")).status, 200)

    def test_logging(self):
        r = self.admin_post("/logging")
        text = r.body.decode()
        self.assertTrue(text.startswith("active loggers:\n"), text)
        for name in ("admin", "config", "connection", "http", "router", "upstream", "main"):
            self.assertIn(f"\n  {name}: info\n", text)
        text = self.admin_post("/logging?level=debug").body.decode()
        self.assertNotIn(": info\n", text)
        self.assertIn("  http: debug\n", text)
        # One level for every logger: naming one sets them all.
        text = self.admin_post("/logging?router=warning").body.decode()
        self.assertIn("  router: warning\n", text)
        self.assertIn("  http: warning\n", text)
        self.assertIn("  http: error\n", self.admin_post("/logging?paths=http:error,router:error")
                      .body.decode())
        r = self.admin_post("/logging?level=loud", 400)
        self.assertTrue(r.body.startswith(b"error: unknown logger level\n\nusage: /logging?"), r)
        r = self.admin_post("/logging?nosuchlogger=debug", 400)
        self.assertTrue(r.body.startswith(b"error: unknown logger name\n"), r)
        self.admin_post("/logging?level=info&http=debug", 400)
        self.assertIn("  main: error\n", self.admin_post("/logging").body.decode())  # unchanged
        self.admin_post("/logging?level=info")

    def test_healthcheck_fail_and_ok(self):
        r = self.admin_get("/healthz/ready")
        self.assertEqual(r.body, b"LIVE\n")
        self.admin_post("/healthcheck/fail")
        self.assertEqual(self.admin_get("/healthz/ready", 503).body, b"DRAINING\n")
        self.assertEqual(self.admin_get("/ready", 503).body, b"DRAINING\n")
        self.assertEqual(self.admin_get("/server_info").json()["state"], "DRAINING")
        self.assertEqual(self.admin_get("/stats?filter=^server%5C.(state|live)$").body,
                         b"server.live: 0\nserver.state: 1\n")
        # Traffic still flows (pilotfish has no health_check filter), but a DEFAULT drain_type
        # listener drain-closes its connections, as Envoy's; MODIFY_ONLY (outbound) does not.
        def keeps_alive(listener):
            with h.RawConn(self.proxy.port(listener)) as c:
                c.send(h.build_request("GET", "/"))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                return (r.header("connection") or "").lower() != "close"
        self.assertFalse(keeps_alive("inbound"))
        self.assertTrue(keeps_alive("outbound"))
        self.admin_post("/healthcheck/ok")
        self.assertTrue(keeps_alive("inbound"))
        self.assertEqual(self.admin_get("/healthz/ready").body, b"LIVE\n")
        self.assertEqual(self.admin_get("/stats?filter=^server%5C.(state|live)$").body,
                         b"server.live: 1\nserver.state: 0\n")

    def test_drain_listeners_inbound_only(self):
        inbound, outbound = self.proxy.port("inbound"), self.proxy.port("outbound")
        self.admin_post("/drain_listeners?skip_exit", 400)
        with h.RawConn(inbound) as kept:
            kept.send(h.build_request("GET", "/"))
            self.assertEqual(kept.read_response().status, 200)
            self.admin_post("/drain_listeners?inboundonly")
            h.poll_until(lambda: not h.can_connect(inbound), what="inbound listener stopped")
            # Its open connection drains (idle: closed at once).
            self.assertTrue(kept.wait_closed(5)[0])
        r = h.raw_request(outbound, h.build_request("GET", "/"))
        self.assertEqual(r.status, 200)
        self.assertNotEqual(r.header("connection"), "close")
        self.assertEqual(self.admin_get("/healthz/ready", 503).body, b"DRAINING\n")
        self.assertEqual(self.admin_get("/ready").body, b"LIVE\n")  # Envoy: the server is still live
        self.assertTrue(self.proxy.alive())  # and does not exit


class GracefulDrainTest(AdminCase):
    def proxy_sessions(self):
        stats = self.admin_get("/stats?filter=downstream_cx_active").body.decode()
        return sum(int(v) for v in re.findall(r"^http\.\S+\.downstream_cx_active: (\d+)$", stats,
                                              re.M))

    def test_graceful_drain_keeps_accepting_until_the_drain_time(self):
        echo = self.start_echo("echo")
        self.proxy = self.start_proxy(h.simple_bootstrap(echo.port),
                                      args=["--drain-time-s", "1"])
        port = self.proxy.port()
        with h.RawConn(port) as busy, h.RawConn(port) as idle:
            busy.send(h.build_request("GET", "/delay/300"))
            h.poll_until(lambda: self.proxy_sessions() == 2, what="two sessions")
            self.admin_post("/drain_listeners?graceful")
            # In flight: finishes, told to go away; idle: closed.
            r = busy.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("connection"), "close")
            self.assertTrue(idle.wait_closed(5)[0])
        # New connections are still accepted during the drain time...
        with h.RawConn(port) as late:
            late.send(h.build_request("GET", "/"))
            self.assertEqual(late.read_response().status, 200)
            # ... until it ends: the listener stops and its connections drain.
            h.poll_until(lambda: not h.can_connect(port), timeout=10,
                         what="listener stopped after the drain time")
            self.assertTrue(late.wait_closed(5)[0])
        self.admin_post("/drain_listeners?graceful")  # a second call changes nothing
        self.assertTrue(self.proxy.alive())


class XdsAdminTest(XdsCase, AdminCase):
    """/config_dump and /clusters with a control plane: what was pushed, with its versions."""

    def assertResourceVersion(self, actual, type_version):
        """SotW: a resource carries the version of the response it came in; delta: its own."""
        if self.DELTA:
            self.assertTrue(actual)
        else:
            self.assertEqual(actual, type_version)

    def versions(self):
        """type -> version of the last ACK (pf_xds_server log)."""
        out = {}
        for line in self.cp.lines(r"^ACK "):
            m = re.search(r"type=\S+\.(\w+) version=(\S+)", line)
            out[m.group(1)] = m.group(2)
        return out

    def start_synced(self):
        self.a, self.b = self.start_echo("a"), self.start_echo("b")
        self.port = h.free_port()
        self.clusters = [eds_cluster("c0"), eds_cluster("c1")]
        self.assignments = [
            assignment("c0", [self.a.port]),
            {"@type": CLA_TYPE, "cluster_name": "c1", "endpoints": [{
                "locality": {"region": "eu", "zone": "eu-1", "sub_zone": "rack7"},
                "lb_endpoints": [{"endpoint": {"address": {"socket_address": {
                    "address": "127.0.0.1", "port_value": self.b.port}}},
                    "load_balancing_weight": 3}]}]}]
        self.listeners = [listener("http", self.port, "r")]
        self.routes = [route_config("r", [("c0", 100), ("c1", 0)])]
        self.push("cds", self.clusters)
        self.push("eds", self.assignments)
        self.push("lds", self.listeners)
        self.push("rds", self.routes)
        self.start_cp()
        self.proxy = self.start_proxy(self.bootstrap())
        for t in ("Cluster", "ClusterLoadAssignment", "Listener", "RouteConfiguration"):
            self.cp.wait_for(rf"ACK type=\S+\.{t} ", 10)

    def test_config_dump_lists_what_was_pushed_with_versions(self):
        self.start_synced()
        v = self.versions()
        dump = self.dump()
        clusters = section(dump, "ClustersConfigDump")
        self.assertEqual(clusters["version_info"], v["Cluster"])
        self.assertEqual([c["cluster"]["name"] for c in clusters["static_clusters"]],
                         ["xds_cluster"])
        active = clusters["dynamic_active_clusters"]
        self.assertEqual([c["cluster"] for c in active], [canon_any(c) for c in self.clusters])
        for c in active:
            self.assertResourceVersion(c["version_info"], v["Cluster"])
            self.assertRegex(c["last_updated"], r"^\d{4}-\d\d-\d\dT")
        listeners = section(dump, "ListenersConfigDump")
        self.assertEqual(listeners["version_info"], v["Listener"])
        (dl,) = listeners["dynamic_listeners"]
        self.assertEqual(dl["name"], "http")
        self.assertResourceVersion(dl["active_state"]["version_info"], v["Listener"])
        self.assertEqual(dl["active_state"]["listener"], canon_any(self.listeners[0]))
        (rc,) = section(dump, "RoutesConfigDump")["dynamic_route_configs"]
        self.assertResourceVersion(rc["version_info"], v["RouteConfiguration"])
        self.assertEqual(rc["route_config"], canon_any(self.routes[0]))
        old_route_version = rc["version_info"]

        # A new route version shows up with its version.
        mark = self.cp.mark()
        self.routes = [route_config("r", [("c0", 0), ("c1", 100)])]
        self.push("rds", self.routes)
        line = self.cp.wait_for(r"ACK type=\S+RouteConfiguration ", 10, since=mark)
        new_version = re.search(r"version=(\S+)", line).group(1)
        self.assertNotEqual(new_version, v["RouteConfiguration"])
        (rc,) = section(self.dump(), "RoutesConfigDump")["dynamic_route_configs"]
        self.assertResourceVersion(rc["version_info"], new_version)
        self.assertNotEqual(rc["version_info"], old_route_version)
        self.assertEqual(rc["route_config"], canon_any(self.routes[0]))
        # Unchanged clusters keep the version they came with.
        self.assertEqual(section(self.dump(), "ClustersConfigDump")["dynamic_active_clusters"],
                         active)

        # ?include_eds: the assignments as pushed.
        eps = section(self.dump("?include_eds"), "EndpointsConfigDump")
        self.assertEqual([e["endpoint_config"] for e in eps["dynamic_endpoint_configs"]],
                         [canon_any(a) for a in self.assignments])
        self.assertResourceVersion(eps["dynamic_endpoint_configs"][0]["version_info"],
                                   v["ClusterLoadAssignment"])

        # ?resource= (+ ?mask= per element, ?name_regex=).
        dump = self.dump("?resource=dynamic_active_clusters")
        self.assertEqual([c["@type"] for c in dump["configs"]],
                         [ADMIN + "ClustersConfigDump.DynamicCluster"] * 2)
        self.assertEqual(dump["configs"][1]["cluster"], canon_any(self.clusters[1]))
        dump = self.dump("?resource=dynamic_active_clusters&mask=cluster.name,version_info")
        self.assertEqual([{k: c[k] for k in c if k != "@type"} for c in dump["configs"]], [
            {"version_info": c["version_info"], "cluster": {"@type": CLUSTER_TYPE, "name": name}}
            for c, name in zip(active, ("c0", "c1"))])
        dump = self.dump("?resource=dynamic_active_clusters&name_regex=c1")
        self.assertEqual([c["cluster"]["name"] for c in dump["configs"]], ["c1"])
        dump = self.dump("?resource=dynamic_endpoint_configs&include_eds&name_regex=c0")
        self.assertEqual([c["endpoint_config"]["cluster_name"] for c in dump["configs"]], ["c0"])
        self.admin_get("/config_dump?resource=dynamic_endpoint_configs", 404)  # without include_eds
        dump = self.dump("?resource=dynamic_route_configs&mask=route_config.name")
        self.assertEqual(dump["configs"][0]["route_config"], {"@type": ROUTE_TYPE, "name": "r"})

    def test_warming_listener_shows_as_warming(self):
        self.start_synced()
        mark = self.cp.mark()
        port2 = h.free_port()
        self.push("lds", self.listeners + [listener("waiting", port2, "not_pushed_yet")])
        self.cp.wait_for(r"ACK type=\S+Listener ", 10, since=mark)
        by_name = {l["name"]: l for l in section(self.dump(), "ListenersConfigDump")
                   ["dynamic_listeners"]}
        self.assertIn("active_state", by_name["http"])
        self.assertEqual(set(by_name["waiting"]) - {"name"}, {"warming_state"})
        self.assertEqual(by_name["waiting"]["warming_state"]["listener"]["name"], "waiting")
        self.assertEqual(self.lines("/listeners"), [f"http::127.0.0.1:{self.port}"])

    def test_clusters_with_eds(self):
        self.start_synced()
        lines = set(self.lines("/clusters"))
        b = f"127.0.0.1:{self.b.port}"
        for line in ["c0::added_via_api::true", "c0::eds_service_name::c0",
                     "xds_cluster::added_via_api::false", f"c0::127.0.0.1:{self.a.port}::weight::1",
                     f"c1::{b}::weight::3", f"c1::{b}::region::eu", f"c1::{b}::zone::eu-1",
                     f"c1::{b}::sub_zone::rack7", f"c1::{b}::health_flags::healthy"]:
            self.assertIn(line, lines)
        clusters = {c["name"]: c for c in canon(self.admin_get("/clusters?format=json").body,
                                                "envoy.admin.v3.Clusters")["cluster_statuses"]}
        self.assertTrue(clusters["c1"]["added_via_api"])
        self.assertEqual(clusters["c1"]["eds_service_name"], "c1")
        self.assertEqual(clusters["c1"]["host_statuses"][0]["locality"],
                         {"region": "eu", "zone": "eu-1", "sub_zone": "rack7"})
        # An endpoint EDS marks unhealthy is shown as Envoy shows it.
        mark = self.cp.mark()
        self.assignments[0]["endpoints"][0]["lb_endpoints"][0]["health_status"] = "UNHEALTHY"
        self.push("eds", self.assignments)
        self.cp.wait_for(r"ACK type=\S+ClusterLoadAssignment ", 10, since=mark)
        h.poll_until(lambda: f"c0::127.0.0.1:{self.a.port}::health_flags::/failed_eds_health"
                     in self.lines("/clusters"), what="EDS health shown")

    def test_ready_only_once_configured(self):
        # Before the control plane answers, /healthz/ready and /ready are 503 INITIALIZING.
        self.port = h.free_port()
        self.push("cds", [eds_cluster("c0")])
        self.start_cp()
        self.cp.stop()
        self.proxy = self.start_proxy(self.bootstrap(), admin_ready=False)
        self.assertEqual(self.admin_get("/healthz/ready", 503).body, b"INITIALIZING\n")
        self.assertEqual(self.admin_get("/ready", 503).body, b"INITIALIZING\n")
        self.assertEqual(self.admin_get("/server_info").json()["state"], "INITIALIZING")
        dumps = canon(self.admin_get("/init_dump").body, "envoy.admin.v3.UnreadyTargetsDumps")
        self.assertEqual(dumps["unready_targets_dumps"][0]["name"], "Server")
        # The dump works before any xDS answer: the bootstrap and the static cluster.
        self.assertEqual([c["cluster"]["name"] for c in section(self.dump(), "ClustersConfigDump")
                          ["static_clusters"]], ["xds_cluster"])


class DeltaXdsAdminTest(XdsAdminTest):
    DELTA = True


if __name__ == "__main__":
    h.main()
