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
import subprocess
import tempfile
import time
import unittest

import harness as h

SERVICE_IP = "10.99.0.1"
ECHO_PORT = 18080  # inside the private namespace: nothing else can hold it


def ns_exec(ns, argv, **kw):
    return ["ip", "netns", "exec", ns] + argv


class OriginalDstTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("iptables") is None:
            self.skipTest("needs root, iproute2 and iptables")
        self.ns = f"pf-od-{os.getpid()}"
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="pf-od-")
        r = subprocess.run(["ip", "netns", "add", self.ns], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot create a network namespace: " + r.stderr.strip())
        self.addCleanup(self.cleanup)
        self.run_ns(["ip", "link", "set", "lo", "up"])
        self.run_ns(["ip", "addr", "add", SERVICE_IP + "/32", "dev", "lo"])
        # istio-init's ISTIO_REDIRECT for this one service port (SPEC.md 1.2).
        for port in ("9080", "9999"):
            self.run_ns(["iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", SERVICE_IP,
                         "--dport", port, "-j", "REDIRECT", "--to-ports", "15001"])

    def cleanup(self):
        for p, log in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
            log.close()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_ns(self, argv):
        r = subprocess.run(ns_exec(self.ns, argv), capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"{argv}: {r.stderr}")
        return r.stdout

    def spawn(self, name, argv):
        log = open(os.path.join(self.tmp, name + ".log"), "w+")
        p = subprocess.Popen(ns_exec(self.ns, argv), stdout=log, stderr=subprocess.STDOUT)
        self.procs.append((p, log))
        return p, log

    def curl(self, url, extra=()):
        r = subprocess.run(ns_exec(self.ns, ["curl", "-sS", "-m", "5", "-i", *extra, url]),
                           capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout + r.stderr

    def log_of(self, log):
        log.flush()
        log.seek(0)
        return log.read()[-4000:]

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

    def test_redirected_connection_reaches_the_original_destination_listener(self):
        echo, echo_log = self.spawn("echo", [h.ECHO_BIN, "--port", str(ECHO_PORT),
                                             "--name", "reviews"])
        cfg = os.path.join(self.tmp, "bootstrap.json")
        with open(cfg, "w") as f:
            json.dump(self.bootstrap(), f)
        proxy, proxy_log = self.spawn("pilotfish", [h.PILOTFISH_BIN, "-c", cfg,
                                                    "--concurrency", "2", "-l", "info"])

        def ready():
            self.assertIsNone(proxy.poll(), "pilotfish exited:\n" + self.log_of(proxy_log))
            rc, out = self.curl("http://127.0.0.1:15000/ready")
            return rc == 0 and " 200 " in out.splitlines()[0]
        h.poll_until(ready, what="pilotfish ready inside the namespace")

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


if __name__ == "__main__":
    unittest.main()
