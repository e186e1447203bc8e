#!/usr/bin/env python3
"""HCM idle timeouts as Envoy applies them: stream_idle_timeout answers "stream timeout" when
nothing moves on a stream (504 once the request is in, 408 while its body is still owed, flag
SI), but never fires while data keeps flowing; a route's idle_timeout overrides it for that route
(0 disables it); the connection idle_timeout (common_http_protocol_options) closes an idle
keep-alive connection, but not one in use."""

import hashlib
import os
import socket
import time

import harness as h
from harness import vhost

ACCESS_LOG_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
LOG_FORMAT = "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n"

HCM_TIMEOUTS = {"stream_idle_timeout": "1s",
                "common_http_protocol_options": {"idle_timeout": "1s"}}


class IdleTimeoutTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("idle")
        # Route timeout off: only the idle timeouts can end a stream here.
        boot = h.simple_bootstrap(self.echo.port, route_kw={"timeout": "0s"},
                                  hcm_extra=HCM_TIMEOUTS)
        self.port = self.start_proxy(boot, concurrency=1).port()

    def test_stream_idle_timeout_after_the_request_gives_504(self):
        start = time.monotonic()
        r = h.raw_request(self.port, h.build_request("GET", "/hang"), timeout=10)
        elapsed = time.monotonic() - start
        self.assertStatus(r, 504)
        self.assertEqual(r.body, b"stream timeout")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5.0)

    def test_stream_idle_timeout_during_the_request_body_gives_408(self):
        with h.RawConn(self.port) as c:
            start = time.monotonic()
            c.send(h.build_request("POST", "/upload", headers=[("content-length", "100")])
                   + b"0123456789")  # 90 bytes short
            r = c.read_response(timeout=10)
            elapsed = time.monotonic() - start
        self.assertStatus(r, 408)
        self.assertEqual(r.body, b"stream timeout")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5.0)

    def test_stream_idle_timeout_not_hit_while_data_flows(self):
        # A download read slowly for ~3 s (3x the idle timeout): every chunk is activity.
        size = 8 << 20
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        sock.sendall(h.build_request("GET", f"/bytes/{size}"))
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(64 << 10)
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertIn(b" 200 ", head.split(b"\r\n", 1)[0])
        digest = hashlib.sha256(body)
        got = len(body)
        deadline = time.monotonic() + 30
        while got < size and time.monotonic() < deadline:
            chunk = sock.recv(min(256 << 10, size - got))
            if not chunk:
                break
            digest.update(chunk)
            got += len(chunk)
            time.sleep(0.1 * len(chunk) / (256 << 10))
        self.assertEqual(got, size, "download cut short")
        self.assertEqual(digest.hexdigest(), h.pattern_sha256(size))

    def test_connection_idle_timeout_closes_idle_keepalive(self):
        with h.RawConn(self.port) as c:
            c.send(h.build_request("GET", "/one"))
            self.assertStatus(c.read_response(), 200)
            start = time.monotonic()
            closed, _ = c.wait_closed(timeout=6)
            self.assertTrue(closed, "idle keep-alive connection was not closed")
            self.assertGreaterEqual(time.monotonic() - start, 0.9)

    def test_connection_in_use_is_not_closed(self):
        # Requests every 0.4 s for 2.5 s: never idle for the full second.
        with h.RawConn(self.port) as c:
            end = time.monotonic() + 2.5
            n = 0
            while time.monotonic() < end:
                c.send(h.build_request("GET", f"/req{n}"))
                self.assertStatus(c.read_response(), 200)
                n += 1
                time.sleep(0.4)
            self.assertGreaterEqual(n, 6)


class RequestTimeoutTest(h.ProxyTestCase):
    """HCM request_timeout: the whole request must arrive in time, however busy the client
    looks (each trickled byte resets the idle timer, not this one)."""

    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("rqt")
        boot = h.simple_bootstrap(self.echo.port, route_kw={"timeout": "0s"},
                                  hcm_extra={"request_timeout": "1s"})
        self.port = self.start_proxy(boot, concurrency=1).port()

    def test_trickled_body_gets_408_request_timeout(self):
        with h.RawConn(self.port) as c:
            start = time.monotonic()
            c.send(h.build_request("POST", "/upload", headers=[("content-length", "100")]))
            for _ in range(20):  # a byte every 100 ms: 2 s for 20 of the 100 bytes
                try:
                    c.send(b"x")
                except OSError:  # pilotfish answered and closed
                    break
                time.sleep(0.1)
            r = c.read_response(timeout=10)
            elapsed = time.monotonic() - start
        self.assertStatus(r, 408)
        self.assertEqual(r.body, b"request timeout")
        self.assertGreaterEqual(elapsed, 0.9)

    def test_complete_request_is_not_cut(self):
        r = h.raw_request(self.port, h.build_request("GET", "/delay/1500"), timeout=10)
        self.assertStatus(r, 200)


class RouteIdleTimeoutTest(h.ProxyTestCase):
    """Routes to an upstream that never answers, under an HCM stream_idle_timeout of 2 s."""

    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("idle")
        self.log_path = os.path.join(self.tmpdir, "access.log")
        b = h.Bootstrap()
        b.add_cluster("echo", [("127.0.0.1", self.echo.port)])
        hang = {"prefix_rewrite": "/hang"}
        b.add_http_listener(
            "http",
            [vhost([h.route("echo", prefix="/short", timeout="0s", idle_timeout="0.5s", **hang),
                    h.route("echo", prefix="/off", timeout="3s", idle_timeout="0s", **hang),
                    h.route("echo", prefix="/other", timeout="0s", **hang)])],
            stream_idle_timeout="2s",
            access_log=[{"name": "envoy.access_loggers.file",
                         "typed_config": {"@type": ACCESS_LOG_TYPE, "path": self.log_path,
                                          "log_format": {"text_format_source": {
                                              "inline_string": LOG_FORMAT}}}}])
        self.proxy = self.start_proxy(b, args=["--file-flush-interval-msec", "50"],
                                      concurrency=1)
        self.port = self.proxy.port()

    def timed_get(self, path):
        start = time.monotonic()
        r = h.raw_request(self.port, h.build_request("GET", path), timeout=10)
        return r, time.monotonic() - start

    def logged(self, path):
        def line():
            try:
                with open(self.log_path) as f:
                    for l in f.read().splitlines():
                        if l.split(" ", 1)[0] == path:
                            return l.split()
            except FileNotFoundError:
                pass
            return None
        return h.poll_until(line, timeout=5, what=f"access log line for {path}")

    def test_route_idle_timeout_overrides_the_hcm_one(self):
        r, elapsed = self.timed_get("/short")
        self.assertStatus(r, 504)
        self.assertEqual(r.body, b"stream timeout")
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 1.8, "the HCM's 2 s fired, not the route's 0.5 s")
        self.assertEqual(self.logged("/short"), ["/short", "504", "SI"])
        self.assertEqual(self.proxy.stat("http.http.downstream_rq_idle_timeout"), 1)

    def test_other_routes_keep_the_hcm_timeout(self):
        r, elapsed = self.timed_get("/other")
        self.assertStatus(r, 504)
        self.assertEqual(r.body, b"stream timeout")
        self.assertGreaterEqual(elapsed, 1.9)
        self.assertLess(elapsed, 5.0)

    def test_route_idle_timeout_zero_disables_it(self):
        # Neither the route's nor the HCM's idle timeout fires: the 3 s route timeout does.
        r, elapsed = self.timed_get("/off")
        self.assertStatus(r, 504)
        self.assertEqual(r.body, b"upstream request timeout")
        self.assertGreaterEqual(elapsed, 2.9)
        self.assertEqual(self.logged("/off"), ["/off", "504", "UT"])
        self.assertEqual(self.proxy.stat("http.http.downstream_rq_idle_timeout"), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
