#!/usr/bin/env python3
"""retry_policy.per_try_idle_timeout as Envoy's router applies it: armed when an attempt's
request is sent and re-armed by every response byte; when it fires the attempt is reset and
counted in upstream_rq_per_try_idle_timeout. Before the response starts it is retried like a
per-try timeout (or answered 504 "upstream request timeout"); after, the stream is reset."""

import threading
import time

import harness as h
from harness import vhost

PREVIOUS_HOSTS = [{
    "name": "envoy.retry_host_predicates.previous_hosts",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.retry.host."
                              "previous_hosts.v3.PreviousHostsPredicate"}}]
BODY_SIZE = 1000


class StallingServer(h.FakeUpstream):
    """Reads a request head, then sends `prefix` and stalls (or, with `drip`, sends the rest of a
    BODY_SIZE body in `drip` pieces, `interval` seconds apart). An empty prefix: stall before the
    headers."""

    def __init__(self, prefix=b"", drip=0, interval=0.0):
        super().__init__()
        self.prefix, self.drip, self.interval = prefix, drip, interval
        self.requests = 0
        self.done = threading.Event()

    def handle(self, conn):
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            with self.lock:
                self.requests += 1
            if self.prefix:
                conn.sendall(self.prefix)
            for piece in range(self.drip):
                time.sleep(self.interval)
                conn.sendall(b"x" * (BODY_SIZE // self.drip))
            while conn.recv(65536):  # then hold the connection until the proxy drops it
                pass
        except OSError:
            pass


def head(n=BODY_SIZE):
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % n


class PerTryIdleTimeoutTest(h.ProxyTestCase):
    def start(self, endpoints, policy, route_timeout="5s"):
        b = h.Bootstrap()
        b.add_cluster("up", endpoints)
        b.add_http_listener("http", [vhost([h.route("up", prefix="/", timeout=route_timeout,
                                                    retry_policy=policy)])])
        self.proxy = self.start_proxy(b, concurrency=1)
        return self.proxy.port()

    def idle_timeouts(self):
        return self.proxy.stat("cluster.up.upstream_rq_per_try_idle_timeout")

    def test_stall_before_headers_is_retried_on_a_healthy_host(self):
        stuck = StallingServer()
        stuck.start()
        self.addCleanup(stuck.stop)
        echo = self.start_echo("healthy")
        port = self.start([("127.0.0.1", stuck.port), ("127.0.0.1", echo.port)],
                          {"retry_on": "5xx", "num_retries": 2, "per_try_idle_timeout": "0.3s",
                           "retry_host_predicate": PREVIOUS_HOSTS,
                           "host_selection_retry_max_attempts": 5})
        start = time.monotonic()
        for i in range(4):
            r = h.http_request(port, path=f"/item/{i}", timeout=10)
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["server"], "healthy")
        # Round robin sends every other first attempt to the stuck host; each one timed out
        # (its connection is closed) and was retried instead of waiting for the 5 s route timeout.
        self.assertGreaterEqual(stuck.requests, 1)
        self.assertEqual(self.idle_timeouts(), stuck.requests)
        self.assertLess(time.monotonic() - start, 4 * 1.0)

    def test_not_retried_gives_504_upstream_request_timeout(self):
        stuck = StallingServer()
        stuck.start()
        self.addCleanup(stuck.stop)
        port = self.start([("127.0.0.1", stuck.port)], {"per_try_idle_timeout": "0.3s"})
        start = time.monotonic()
        r = h.http_request(port, path="/x", timeout=10)
        elapsed = time.monotonic() - start
        self.assertStatus(r, 504)
        self.assertEqual(r.body, b"upstream request timeout")
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 3.0, "fired by the idle timeout, not the 5 s route timeout")
        self.assertEqual(self.idle_timeouts(), 1)

    def test_stall_after_headers_resets_the_stream(self):
        stuck = StallingServer(prefix=head() + b"y" * 100)
        stuck.start()
        self.addCleanup(stuck.stop)
        # Retries are configured but cannot apply once the response has started; no route
        # timeout, so only the idle timeout can end this stream.
        port = self.start([("127.0.0.1", stuck.port)],
                          {"retry_on": "5xx,reset", "num_retries": 2,
                           "per_try_idle_timeout": "0.5s"}, route_timeout="0s")
        with h.RawConn(port) as c:
            start = time.monotonic()
            c.send(h.build_request("GET", "/stall"))
            status_line = c.read_until(b"\r\n\r\n", timeout=5).split(b"\r\n", 1)[0]
            self.assertIn(b" 200 ", status_line)
            closed, body = c.wait_closed(timeout=5)
            elapsed = time.monotonic() - start
        self.assertTrue(closed, "the stalled response was not reset")
        self.assertLess(len(body), BODY_SIZE)
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertEqual(self.idle_timeouts(), 1)
        self.assertEqual(stuck.requests, 1, "a started response is never retried")

    def test_a_slow_but_steady_body_is_not_cut(self):
        # 10 pieces 0.2 s apart: 2 s in all, never 0.5 s without a byte.
        slow = StallingServer(prefix=head(), drip=10, interval=0.2)
        slow.start()
        self.addCleanup(slow.stop)
        port = self.start([("127.0.0.1", slow.port)],
                          {"retry_on": "5xx", "num_retries": 1, "per_try_idle_timeout": "0.5s"})
        r = h.http_request(port, path="/slow", timeout=10)
        self.assertStatus(r, 200)
        self.assertEqual(len(r.body), BODY_SIZE)
        self.assertEqual(self.idle_timeouts(), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
