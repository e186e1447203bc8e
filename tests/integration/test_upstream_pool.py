#!/usr/bin/env python3
"""Upstream connection pool policy from the cluster config, seen from the upstream's side:
max_requests_per_connection caps how many requests one upstream connection carries, and the
upstream idle_timeout (typed HttpProtocolOptions) closes pooled connections nobody uses. Also:
SIGHUP does not stop a running proxy."""

import signal
import socket
import time

import harness as h

HTTP_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def protocol_options(**common):
    return {"typed_extension_protocol_options": {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": HTTP_OPTIONS,
            "explicit_http_config": {"http_protocol_options": {}},
            "common_http_protocol_options": common}}}


class UpstreamPoolTest(h.ProxyTestCase):
    def start(self, **common):
        self.echo = self.start_echo("pool")
        boot = h.simple_bootstrap(self.echo.port, cluster_kw=protocol_options(**common))
        proxy = self.start_proxy(boot, concurrency=1)
        self.echo.wait_quiet()
        return proxy

    def test_max_requests_per_connection(self):
        proxy = self.start(max_requests_per_connection=3)
        before = self.echo.counters()
        with h.RawConn(proxy.port()) as c:  # one client connection, sequential requests
            for i in range(9):
                c.send(h.build_request("GET", f"/r{i}"))
                self.assertStatus(c.read_response(), 200)
        after = self.echo.counters()
        self.assertEqual(after["requests_total"] - before["requests_total"], 9)
        # 9 requests, at most 3 per upstream connection: exactly 3 upstream connections.
        self.assertEqual(after["connections_total"] - before["connections_total"], 3, after)

    def test_upstream_idle_timeout_closes_pooled_connection(self):
        proxy = self.start(idle_timeout="1s")
        self.assertStatus(h.http_request(proxy.port(), path="/warm"), 200)
        self.assertEqual(self.echo.counters()["connections_active"], 1)
        start = time.monotonic()
        h.poll_until(lambda: self.echo.counters()["connections_active"] == 0, timeout=6,
                     what="the idle pooled upstream connection to close")
        self.assertGreaterEqual(time.monotonic() - start, 0.8)
        # The pool opens a new connection for the next request.
        self.assertStatus(h.http_request(proxy.port(), path="/again"), 200)

    def test_idle_timeout_counts_from_the_last_use(self):
        """A connection reused every 0.3 s for 2 s outlives its 1 s idle timeout (the timer,
        armed when it first idled, finds it recently used and waits for the rest), then closes
        about 1 s after its last request."""
        proxy = self.start(idle_timeout="1s")
        with h.RawConn(proxy.port()) as c:
            end = time.monotonic() + 2.0
            while True:
                c.send(h.build_request("GET", "/busy"))
                self.assertStatus(c.read_response(), 200)
                last_use = time.monotonic()
                if last_use >= end:
                    break
                time.sleep(0.3)
        counters = self.echo.counters()
        self.assertEqual(counters["connections_total"], 1, counters)  # never closed while used
        h.poll_until(lambda: self.echo.counters()["connections_active"] == 0, timeout=6,
                     what="the pooled upstream connection to close once idle")
        self.assertGreaterEqual(time.monotonic() - last_use, 0.8)

    def test_light_traffic_reuses_the_last_used_connection(self):
        """Three concurrent requests open three upstream connections; sequential requests
        every 0.3 s then all take the connection used last (Envoy's pool is a stack), so the
        other two idle out after 1 s while traffic goes on. A queue would rotate through all
        three, each reused every 0.9 s, and none would reach its idle timeout."""
        proxy = self.start(idle_timeout="1s")
        before = self.echo.counters()["connections_total"]
        conns = [h.RawConn(proxy.port()) for _ in range(3)]
        for c in conns:
            c.send(h.build_request("GET", "/delay/300"))
        for c in conns:
            self.assertStatus(c.read_response(), 200)
            c.close()
        self.assertEqual(self.echo.counters()["connections_total"] - before, 3)
        with h.RawConn(proxy.port()) as c:
            end = time.monotonic() + 2.5
            while time.monotonic() < end:
                c.send(h.build_request("GET", "/light"))
                self.assertStatus(c.read_response(), 200)
                time.sleep(0.3)
            counters = self.echo.counters()
        self.assertEqual(counters["connections_total"] - before, 3, counters)  # none reopened
        self.assertEqual(counters["connections_active"], 1, counters)

    def test_connect_timeout(self):
        # An upstream whose accept queue is full and never drained: SYNs are dropped, so the
        # proxy's connect hangs until the cluster's connect_timeout.
        stuck = socket.socket()
        self.addCleanup(stuck.close)
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(0)
        fillers = []
        for _ in range(4):  # fill the backlog; later connects stay unanswered
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(stuck.getsockname())
            fillers.append(f)
            self.addCleanup(f.close)
        boot = h.simple_bootstrap(stuck.getsockname()[1],
                                  cluster_kw={"connect_timeout": "0.5s"})
        proxy = self.start_proxy(boot, concurrency=1)
        start = time.monotonic()
        r = h.http_request(proxy.port(), path="/t", timeout=10)
        elapsed = time.monotonic() - start
        self.assertStatus(r, 503)
        self.assertEqual(r.body, b"upstream connect error or disconnect/reset before headers. "
                                 b"reset reason: connection timeout")
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 5)

    def test_sighup_does_not_stop_the_proxy(self):
        proxy = self.start()
        proxy.proc.send_signal(signal.SIGHUP)
        for i in range(3):
            self.assertStatus(h.http_request(proxy.port(), path=f"/after-hup{i}"), 200)
        self.assertTrue(proxy.alive(), proxy.log_tail())


if __name__ == "__main__":
    import unittest
    unittest.main()
