#!/usr/bin/env python3
"""STRICT_DNS clusters: hostnames in load_assignment are resolved and proxied to."""

import harness as h
from harness import route, vhost


class StrictDnsTest(h.ProxyTestCase):
    def test_strict_dns_localhost(self):
        echo = self.start_echo("dns")
        # V4_ONLY: Envoy's default (AUTO) prefers AAAA answers, and the echo server is IPv4-only.
        boot = h.simple_bootstrap(echo.port, cluster_kw={"type": "STRICT_DNS",
                                                         "dns_lookup_family": "V4_ONLY"})
        boot.clusters[0]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"][
            "address"]["socket_address"]["address"] = "localhost"
        port = self.start_proxy(boot).port()
        before = echo.counters()
        r = h.raw_request(port, h.build_request("GET", "/via-dns"))
        self.assertStatus(r, 200)
        self.assertEqual(r.header("x-echo-server"), "dns")
        self.assertEqual(r.json()["path"], "/via-dns")
        self.assertEqual(echo.counters()["requests_total"] - before["requests_total"], 1)

    def test_strict_dns_two_hosts_round_robin(self):
        a, b = self.start_echo("A"), self.start_echo("B")
        boot = h.Bootstrap()
        boot.add_cluster("ab", [("localhost", a.port), ("localhost", b.port)],
                         type="STRICT_DNS", dns_lookup_family="V4_ONLY")
        boot.add_http_listener("http", [vhost([route("ab")])])
        port = self.start_proxy(boot).port()
        seen = set()
        with h.RawConn(port) as c:
            for i in range(8):
                c.send(h.build_request("GET", f"/rr{i}"))
                r = c.read_response()
                self.assertStatus(r, 200)
                seen.add(r.header("x-echo-server"))
        self.assertEqual(seen, {"A", "B"})

    def test_auto_host_rewrite_sends_the_dns_name(self):
        echo = self.start_echo("ahr")
        boot = h.Bootstrap()
        boot.add_cluster("dns", [("localhost", echo.port)], type="STRICT_DNS",
                         dns_lookup_family="V4_ONLY")
        boot.add_cluster("static", [("127.0.0.1", echo.port)])
        rewrite = route("dns", prefix="/dns")
        rewrite["route"]["auto_host_rewrite"] = True
        static = route("static", prefix="/static")
        static["route"]["auto_host_rewrite"] = True  # no effect: the host has no name
        boot.add_http_listener("http", [vhost([rewrite, static, route("dns")])])
        port = self.start_proxy(boot).port()

        def host_seen(path):
            r = h.raw_request(port, h.build_request("GET", path, host="app.example.com"))
            self.assertStatus(r, 200)
            return r.json()["headers"].get("host")

        self.assertEqual(host_seen("/dns"), "localhost")
        self.assertEqual(host_seen("/static"), "app.example.com")
        self.assertEqual(host_seen("/other"), "app.example.com")

    def test_unresolvable_host_gives_503_no_healthy_upstream(self):
        boot = h.simple_bootstrap(1, cluster_kw={"type": "STRICT_DNS",
                                                 "dns_lookup_family": "V4_ONLY"})
        boot.clusters[0]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"][
            "address"]["socket_address"]["address"] = "pilotfish-test-host.invalid"
        # Envoy waits for the first resolution before it starts listeners; give DNS time.
        proxy = self.start_proxy(boot, timeout=30)
        r = h.raw_request(proxy.port(), h.build_request("GET", "/"), timeout=20)
        self.assertStatus(r, 503)
        self.assertEqual(r.body, b"no healthy upstream")


if __name__ == "__main__":
    h.main()
