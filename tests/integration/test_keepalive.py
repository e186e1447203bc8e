#!/usr/bin/env python3
"""Connection reuse: downstream keep-alive, upstream connection pooling, pipelining, and
Connection: close handling on both sides."""

import json
import http.client
import threading

import harness as h


class KeepAliveTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("ka")
        self.proxy = self.start_proxy(h.simple_bootstrap(self.echo.port))
        self.port = self.proxy.port()

    def test_fifty_requests_reuse_connections(self):
        before = self.echo.counters()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        self.addCleanup(conn.close)
        local = None
        for i in range(50):
            body = b"x" * i if i % 2 else None
            conn.request("POST" if body else "GET", f"/ka/{i}", body=body)
            r = conn.getresponse()
            data = r.read()
            self.assertEqual(r.status, 200, f"request {i}: {r.status} {data!r}{self.diag()}")
            self.assertEqual(json.loads(data)["path"], f"/ka/{i}")
            self.assertNotEqual((r.getheader("connection") or "").lower(), "close",
                                f"proxy closed the client connection after request {i}")
            # http.client silently reconnects if the server closed; the local port proves reuse.
            self.assertIsNotNone(conn.sock, f"connection closed after request {i}")
            name = conn.sock.getsockname()
            if local is None:
                local = name
            self.assertEqual(name, local, f"client connection was not reused at request {i}")
        after = self.echo.counters()
        self.assertEqual(after["requests_total"] - before["requests_total"], 50, (before, after))
        new_conns = after["connections_total"] - before["connections_total"]
        self.assertLessEqual(new_conns, 2, f"{new_conns} upstream connections for 50 sequential "
                                           f"requests: upstream connections are not reused")
        self.assertGreaterEqual(new_conns, 1)

    def test_upstream_pool_shared_across_client_connections(self):
        before = self.echo.counters()
        for i in range(10):
            r = h.raw_request(self.port, h.build_request("GET", f"/seq/{i}"))
            self.assertStatus(r, 200)
        after = self.echo.counters()
        # Ten sequential client connections; with --concurrency 2 at most one upstream
        # connection per worker is needed.
        self.assertLessEqual(after["connections_total"] - before["connections_total"], 2,
                             (before, after))

    def test_pipelined_requests_answered_in_order(self):
        with h.RawConn(self.port) as c:
            c.send(h.build_request("GET", "/first") + h.build_request("GET", "/second"))
            r1 = c.read_response()
            r2 = c.read_response()
        self.assertStatus(r1, 200)
        self.assertStatus(r2, 200)
        self.assertEqual(r1.json()["path"], "/first")
        self.assertEqual(r2.json()["path"], "/second")

    def test_pipelined_with_bodies_and_slow_first_response(self):
        reqs = (h.build_request("GET", "/delay/300")
                + h.build_request("POST", "/upload", body=b"hello world")
                + h.build_request("POST", "/echo", [("Transfer-Encoding", "chunked")])
                + b"3\r\nabc\r\n0\r\n\r\n"
                + h.build_request("GET", "/last"))
        with h.RawConn(self.port) as c:
            c.send(reqs)
            rs = [c.read_response() for _ in range(4)]
        for r in rs:
            self.assertStatus(r, 200)
        self.assertEqual(rs[0].json()["path"], "/delay/300")
        self.assertEqual(rs[1].json(), {"bytes": 11, "sha256": h.sha256_hex(b"hello world")})
        self.assertEqual(rs[2].body, b"abc")
        self.assertEqual(rs[3].json()["path"], "/last")

    def test_client_connection_close(self):
        with h.RawConn(self.port) as c:
            c.send(h.build_request("GET", "/bye", [("Connection", "close")]))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual((r.header("connection") or "").lower(), "close", repr(r))
            closed, extra = c.wait_closed(timeout=5)
            self.assertTrue(closed, "proxy kept the connection open after Connection: close")
            self.assertEqual(extra, b"")

    def test_upstream_close_keeps_client_connection(self):
        with h.RawConn(self.port) as c:
            c.send(h.build_request("GET", "/close"))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.body, b"closing\n")
            # Connection is hop-by-hop: the upstream's "close" is not the client's.
            self.assertNotEqual((r.header("connection") or "").lower(), "close", repr(r))
            c.send(h.build_request("GET", "/after-close"))
            r2 = c.read_response()
            self.assertStatus(r2, 200)
            self.assertEqual(r2.json()["path"], "/after-close")

    def test_concurrent_client_connections(self):
        errors = []

        def client(n):
            try:
                with h.RawConn(self.port) as c:
                    for i in range(5):
                        c.send(h.build_request("GET", f"/c{n}/{i}"))
                        r = c.read_response()
                        if r.status != 200 or r.json()["path"] != f"/c{n}/{i}":
                            errors.append(f"client {n} req {i}: {r!r}")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"client {n}: {e!r}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
            self.assertFalse(t.is_alive(), "client thread hung")
        self.assertEqual(errors, [], self.diag())


if __name__ == "__main__":
    h.main()
