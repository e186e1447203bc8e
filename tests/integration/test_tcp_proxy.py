#!/usr/bin/env python3
"""tcp_proxy listeners: bytes go both ways untouched (no HTTP processing), large streams in both
directions at once, and an unreachable upstream closes the client connection."""

import hashlib
import os
import threading

import harness as h


def tcp_bootstrap(upstream_port, name="tcp"):
    b = h.Bootstrap()
    b.add_cluster("upstream", [("127.0.0.1", upstream_port)])
    b.add_tcp_proxy_listener(name, "upstream")
    return b


class TcpProxyTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("tcp")
        self.port = self.start_proxy(tcp_bootstrap(self.echo.port)).port()

    def test_http_bytes_forwarded_verbatim(self):
        r = h.raw_request(self.port, h.build_request("GET", "/raw?a=b", [("X-Mine", "1")],
                                                       host="tcp.example"))
        self.assertStatus(r, 200)
        j = r.json()
        self.assertEqual(j["path"], "/raw?a=b")
        self.assertEqual(j["headers"], {"host": "tcp.example", "x-mine": "1"},
                         "tcp_proxy must not add or change HTTP headers")
        # The response is the upstream's, byte for byte: no Envoy HTTP headers.
        self.assertIsNone(r.header("server"), repr(r))
        self.assertIsNone(r.header("x-envoy-upstream-service-time"), repr(r))
        self.assertEqual(r.header("x-echo-server"), "tcp")

    def test_many_requests_on_one_connection(self):
        before = self.echo.wait_quiet()
        with h.RawConn(self.port) as c:
            for i in range(20):
                c.send(h.build_request("GET", f"/n{i}"))
                self.assertEqual(c.read_response().json()["path"], f"/n{i}")
        after = self.echo.wait_quiet()
        # One client connection is exactly one upstream connection.
        self.assertEqual(after["connections_total"] - before["connections_total"], 1)

    def test_large_bidirectional_stream(self):
        size = 16 * 1024 * 1024
        sent_hash = hashlib.sha256()
        errors = []
        with h.RawConn(self.port, timeout=60) as c:
            def send():
                try:
                    c.send(h.build_request("POST", "/echo", [("Content-Length", str(size))]))
                    block = os.urandom(1 << 20)
                    for i in range(size >> 20):
                        piece = bytes([i & 0xFF]) + block[1:]
                        sent_hash.update(piece)
                        c.send(piece)
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            got_hash = hashlib.sha256()
            r = c.read_response(sink=got_hash.update)  # echo streams back while we send
            sender.join(timeout=30)
        self.assertEqual(errors, [])
        self.assertStatus(r, 200)
        self.assertEqual(r.body_len, size)
        self.assertEqual(got_hash.hexdigest(), sent_hash.hexdigest())

    def test_websocket_through_tcp_proxy(self):
        key = h.ws_key()
        with h.RawConn(self.port) as c:
            c.send(h.build_request("GET", "/ws", [
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]))
            r = c.read_response()
            self.assertStatus(r, 101)
            self.assertEqual(r.header("sec-websocket-accept"), h.ws_accept(key))
            c.send(h.ws_frame("through tcp_proxy"))
            self.assertEqual(h.ws_read_frame(c), (True, 0x1, b"through tcp_proxy"))

    def test_concurrent_connections(self):
        errors = []

        def client(n):
            try:
                with h.RawConn(self.port) as c:
                    body = os.urandom(10000 + n)
                    c.send(h.build_request("POST", "/upload", body=body))
                    j = c.read_response().json()
                    if j != {"bytes": len(body), "sha256": h.sha256_hex(body)}:
                        errors.append(f"client {n}: {j}")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"client {n}: {e!r}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertEqual(errors, [], self.diag())

    def test_upstream_closes_after_response_closes_client(self):
        with h.RawConn(self.port) as c:
            c.send(h.build_request("GET", "/close"))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual((r.header("connection") or "").lower(), "close")
            closed, extra = c.wait_closed(timeout=5)
            self.assertTrue(closed, "upstream closed but the client connection stayed open")
            self.assertEqual(extra, b"")


class TcpProxyUpstreamDownTest(h.ProxyTestCase):
    def test_upstream_down_closes_client(self):
        port = self.start_proxy(tcp_bootstrap(h.free_port())).port()
        with h.RawConn(port) as c:
            try:
                c.send(h.build_request("GET", "/"))
            except (BrokenPipeError, ConnectionResetError):
                return  # closed before we could even send: also correct
            closed, extra = c.wait_closed(timeout=10)
        self.assertTrue(closed, "client connection left open with no upstream")
        self.assertEqual(extra, b"", "a tcp_proxy must not answer by itself")


if __name__ == "__main__":
    h.main()
