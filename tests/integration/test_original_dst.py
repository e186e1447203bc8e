#!/usr/bin/env python3
"""Traffic captured by iptables REDIRECT, as istio-init sets it up, reaches the right listener.

Everything runs inside a private network namespace made by the test: the application's
connection to 10.99.0.1:9080 (a test-host address on the namespace's loopback) is redirected to
pilotfish's virtualOutbound listener on 15001 (use_original_dst: true), which recovers the
original destination with SO_ORIGINAL_DST and hands the connection to the `0.0.0.0_9080`
listener (bind_to_port: false), whose route sends it to the echo server. A destination with no
listener of its own stays on virtualOutbound's catch-all chain (a tcp_proxy to a cluster with no
hosts, so the connection is closed). Needs root, `ip netns` and iptables."""

import json
import os
import shutil
import unittest

import harness as h

SERVICE_IP = "10.99.0.1"
ECHO_PORT = 18080  # inside the private namespace: nothing else can hold it


class OriginalDstTest(h.NetnsTestCase):
    ns_prefix = "pf-od"

    def setUp(self):
        if shutil.which("iptables") is None:
            self.skipTest("needs iptables")
        super().setUp()
        self.run_ns(["ip", "addr", "add", SERVICE_IP + "/32", "dev", "lo"])
        # istio-init's ISTIO_REDIRECT for this one service port (SPEC.md 1.2).
        for port in ("9080", "9999"):
            self.run_ns(["iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", SERVICE_IP,
                         "--dport", port, "-j", "REDIRECT", "--to-ports", "15001"])

    def bootstrap(self):
        hcm = {
            "@type": h.HCM_TYPE,
            "stat_prefix": "outbound_0.0.0.0_9080",
            "route_config": {"name": "9080", "virtual_hosts": [
                {"name": "reviews:9080", "domains": ["*"],
                 "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "echo"}}]}]},
            "http_filters": [h.ROUTER_FILTER],
        }
        blackhole = {"@type": h.TCP_PROXY_TYPE, "stat_prefix": "BlackHoleCluster",
                     "cluster": "BlackHoleCluster"}
        return {
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 15000}}},
            "static_resources": {
                "listeners": [
                    {"name": "virtualOutbound", "use_original_dst": True,
                     "address": {"socket_address": {"address": "0.0.0.0", "port_value": 15001}},
                     "filter_chains": [{"name": "virtualOutbound-catchall-tcp", "filters": [
                         {"name": h.TCP_PROXY_NAME, "typed_config": blackhole}]}]},
                    {"name": "0.0.0.0_9080", "bind_to_port": False,
                     "address": {"socket_address": {"address": "0.0.0.0", "port_value": 9080}},
                     "filter_chains": [{"filters": [
                         {"name": h.HCM_NAME, "typed_config": hcm}]}]},
                ],
                "clusters": [
                    h.cluster("echo", [("127.0.0.1", ECHO_PORT)]),
                    {"name": "BlackHoleCluster", "type": "STATIC", "connect_timeout": "1s"},
                ],
            },
        }

    def start_proxy(self, cfg):
        """Writes the bootstrap, starts pilotfish in the namespace, waits until it is ready;
        returns its log."""
        path = os.path.join(self.tmp, "bootstrap.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        proxy, proxy_log = self.spawn("pilotfish", [h.PILOTFISH_BIN, "-c", path,
                                                    "--concurrency", "2", "-l", "info"])

        def ready():
            self.assertIsNone(proxy.poll(), "pilotfish exited:\n" + self.log_of(proxy_log))
            rc, out = self.curl("http://127.0.0.1:15000/ready")
            return rc == 0 and " 200 " in out.splitlines()[0]
        h.poll_until(ready, what="pilotfish ready inside the namespace")
        return proxy_log

    def test_redirected_connection_reaches_the_original_destination_listener(self):
        echo, echo_log = self.spawn("echo", [h.ECHO_BIN, "--port", str(ECHO_PORT),
                                             "--name", "reviews"])
        proxy_log = self.start_proxy(self.bootstrap())

        # The application dials the service; iptables sends it to 15001; pilotfish recovers
        # 10.99.0.1:9080 and serves it with the 0.0.0.0_9080 listener's routes.
        for i in range(6):  # both workers' sockets get connections
            rc, out = self.curl(f"http://{SERVICE_IP}:9080/productpage/{i}")
            self.assertEqual(rc, 0, out + "\n" + self.log_of(proxy_log))
            self.assertIn("HTTP/1.1 200", out.splitlines()[0], out)
            body = json.loads(out[out.index("\n\n") + 2:])  # text mode folds CRLF
            self.assertEqual(body["server"], "reviews")
            self.assertEqual(body["path"], f"/productpage/{i}")
            self.assertEqual(body["headers"]["host"], f"{SERVICE_IP}:9080")
            self.assertIn("x-envoy-upstream-service-time", out)

        # A redirected port with no listener of its own stays on virtualOutbound's catch-all
        # chain: tcp_proxy to a cluster with no hosts closes the connection without a reply.
        rc, out = self.curl(f"http://{SERVICE_IP}:9999/")
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("HTTP/1.1", out)


    def test_passthrough_cluster_dials_the_original_destination(self):
        # Istio's PassthroughCluster / InboundPassthroughCluster: an ORIGINAL_DST cluster
        # (CLUSTER_PROVIDED) whose host is the address the application dialled. The upstream
        # connection is made from 127.0.0.6 (upstream_bind_config, as Istio's inbound
        # passthrough) and iptables lets that source through, as istio-init's rules do: without
        # the bind, the upstream connection would itself be redirected back to 15001.
        self.run_ns(["iptables", "-t", "nat", "-I", "OUTPUT", "1", "-s", "127.0.0.6/32",
                     "-j", "RETURN"])
        self.run_ns(["iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", SERVICE_IP,
                     "--dport", "9998", "-j", "REDIRECT", "--to-ports", "15001"])
        self.run_ns(["ip", "addr", "add", "127.0.0.6/32", "dev", "lo"])
        for port in (9080, 9998):
            self.spawn(f"echo{port}", [h.ECHO_BIN, "--address", SERVICE_IP, "--port", str(port),
                                       "--name", f"direct-{port}"])
        cfg = self.bootstrap()
        passthrough = {"name": "PassthroughCluster", "type": "ORIGINAL_DST",
                       "lb_policy": "CLUSTER_PROVIDED", "connect_timeout": "1s",
                       "cleanup_interval": "1s",
                       "upstream_bind_config": {"source_address": {
                           "address": "127.0.0.6", "port_value": 0}},
                       "original_dst_lb_config": {"use_http_header": True}}
        res = cfg["static_resources"]
        res["clusters"].append(passthrough)
        out_chain = res["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        out_chain["cluster"] = out_chain["stat_prefix"] = "PassthroughCluster"
        vh = res["listeners"][1]["filter_chains"][0]["filters"][0]["typed_config"][
            "route_config"]["virtual_hosts"][0]
        vh["routes"].insert(0, {"match": {"prefix": "/passthrough"},
                                "route": {"cluster": "PassthroughCluster"}})
        proxy_log = self.start_proxy(cfg)

        def body(out):
            return json.loads(out[out.index("\n\n") + 2:])

        # HTTP: the 0.0.0.0_9080 listener routes /passthrough to the original destination.
        for i in range(4):
            rc, out = self.curl(f"http://{SERVICE_IP}:9080/passthrough/{i}")
            self.assertEqual(rc, 0, out + "\n" + self.log_of(proxy_log))
            self.assertIn("HTTP/1.1 200", out.splitlines()[0], out)
            self.assertEqual(body(out)["server"], "direct-9080", out)
        # Other paths still use the STATIC cluster (the echo server on ECHO_PORT is not running
        # in this test, so that is a 503: the passthrough above did not go there).
        rc, out = self.curl(f"http://{SERVICE_IP}:9080/other")
        self.assertIn("HTTP/1.1 503", out.splitlines()[0], out)
        # use_http_header: x-envoy-original-dst-host picks the destination instead.
        rc, out = self.curl(f"http://{SERVICE_IP}:9080/passthrough/h",
                            ["-H", f"x-envoy-original-dst-host: {SERVICE_IP}:9998"])
        self.assertEqual(body(out)["server"], "direct-9998", out)
        rc, out = self.curl(f"http://{SERVICE_IP}:9080/passthrough/h",
                            ["-H", "x-envoy-original-dst-host: not-an-address"])
        self.assertIn("HTTP/1.1 503", out.splitlines()[0], out)
        # TCP: a port with no listener of its own: the catch-all chain's tcp_proxy passes the
        # connection through to where it was going.
        rc, out = self.curl(f"http://{SERVICE_IP}:9998/tcp-passthrough")
        self.assertEqual(rc, 0, out + "\n" + self.log_of(proxy_log))
        self.assertIn("HTTP/1.1 200", out.splitlines()[0], out)
        self.assertEqual(body(out)["server"], "direct-9998", out)
        self.assertNotIn("x-envoy-upstream-service-time", out)  # bytes, not HTTP, were proxied


if __name__ == "__main__":
    unittest.main()
