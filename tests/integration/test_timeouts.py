#!/usr/bin/env python3
"""HCM idle timeouts as Envoy applies them: stream_idle_timeout answers 408 "stream timeout" when
nothing moves on a stream, but never fires while data keeps flowing; the connection idle_timeout
(common_http_protocol_options) closes an idle keep-alive connection, but not one in use."""

import hashlib
import socket
import time

import harness as h

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

    def test_stream_idle_timeout_gives_408(self):
        start = time.monotonic()
        r = h.raw_request(self.port, h.build_request("GET", "/hang"), timeout=10)
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


if __name__ == "__main__":
    import unittest
    unittest.main()
