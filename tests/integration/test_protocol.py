#!/usr/bin/env python3
"""HTTP/1.x protocol edges, as Envoy handles them: HTTP/1.0, Expect: 100-continue, WebSocket
upgrades, header size limits (431) and request smuggling attempts (400/501, never forwarded)."""

import harness as h

KIB = 1024


class Http10Test(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("h10")

    def start(self, accept_http_10):
        # None: leave http_protocol_options unset (pilotfish's default accepts HTTP/1.0, as the
        # core issue asks); True/False: set accept_http_10 explicitly.
        hcm = ({} if accept_http_10 is None else
               {"http_protocol_options": {"accept_http_10": accept_http_10}})
        return self.start_proxy(h.simple_bootstrap(self.echo.port, hcm_extra=hcm)).port()

    def test_http10_gets_response_then_close(self):
        port = self.start(accept_http_10=True)
        with h.RawConn(port) as c:
            c.send(b"GET /h10 HTTP/1.0\r\nHost: example.com\r\n\r\n")
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertRegex(r.version, r"^HTTP/1\.[01]$")
            self.assertEqual(r.json()["path"], "/h10")
            self.assertEqual((r.header("connection") or "").lower(), "close", repr(r))
            closed, extra = c.wait_closed(timeout=5)
            self.assertTrue(closed, "HTTP/1.0 connection without keep-alive was left open")
            self.assertEqual(extra, b"")

    def test_http10_chunked_upstream_is_not_chunked_to_client(self):
        port = self.start(accept_http_10=True)
        with h.RawConn(port) as c:
            c.send(b"GET /bytes/100000?chunked=1 HTTP/1.0\r\nHost: example.com\r\n\r\n")
            r = c.read_response()
        self.assertStatus(r, 200)
        self.assertNotEqual(r.framing, "chunked", "an HTTP/1.0 client cannot take chunked")
        self.assertEqual(r.body, h.bytes_pattern(100000))

    def test_http10_keep_alive_keeps_connection(self):
        port = self.start(accept_http_10=True)
        with h.RawConn(port) as c:
            for i in range(2):
                c.send(f"GET /ka{i} HTTP/1.0\r\nHost: example.com\r\n"
                       f"Connection: keep-alive\r\n\r\n".encode())
                r = c.read_response()
                self.assertStatus(r, 200)
                self.assertEqual(r.json()["path"], f"/ka{i}")
                self.assertNotEqual((r.header("connection") or "").lower(), "close", repr(r))

    def test_http10_accepted_by_default(self):
        # Envoy itself defaults accept_http_10 to false; pilotfish accepts HTTP/1.0 clients unless
        # the config says otherwise (no 426 for plain HTTP/1.0 clients of a sidecar).
        port = self.start(accept_http_10=None)
        r = h.raw_request(port, b"GET /default HTTP/1.0\r\nHost: example.com\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["path"], "/default")

    def test_http10_without_host_gets_400(self):
        # Envoy requires a host once default_host_for_http_10 had its chance: 400
        # (missing_host_header), nothing forwarded.
        port = self.start(accept_http_10=True)
        before = self.echo.counters()
        r = h.raw_request(port, b"GET /nohost HTTP/1.0\r\n\r\n")
        self.assertStatus(r, 400)
        self.assertUpstreamUnseen(self.echo, before, "HTTP/1.0 request without a host")

    def test_http10_default_host_fills_a_missing_host(self):
        hcm = {"http_protocol_options": {"accept_http_10": True,
                                         "default_host_for_http_10": "legacy.local"}}
        port = self.start_proxy(h.simple_bootstrap(self.echo.port, hcm_extra=hcm)).port()
        r = h.raw_request(port, b"GET /legacy HTTP/1.0\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["headers"].get("host"), "legacy.local", r.json())
        # A host the client sent wins over the default.
        r = h.raw_request(port, b"GET /legacy HTTP/1.0\r\nHost: own.example\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["headers"].get("host"), "own.example", r.json())

    def test_http10_rejected_with_426_when_disabled(self):
        port = self.start(accept_http_10=False)
        before = self.echo.counters()
        r = h.raw_request(port, b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")
        self.assertStatus(r, 426)
        self.assertUpstreamUnseen(self.echo, before, "HTTP/1.0 request")


class MissingHostTest(h.ProxyTestCase):
    def test_http11_without_host_gets_400_and_is_not_forwarded(self):
        echo = self.start_echo("nohost")
        port = self.start_proxy(h.simple_bootstrap(echo.port)).port()
        before = echo.counters()
        r = h.raw_request(port, b"GET /nohost HTTP/1.1\r\n\r\n")
        self.assertStatus(r, 400)
        # With a body the request is not read: the connection closes after the reply.
        with h.RawConn(port) as c:
            c.send(b"POST /nohost HTTP/1.1\r\nContent-Length: 10\r\n\r\n")
            r = c.read_response()
            self.assertStatus(r, 400)
            closed, _ = c.wait_closed(timeout=5)
            self.assertTrue(closed, "connection with an unread body was left open")
        self.assertUpstreamUnseen(echo, before, "request without a host")
        # An absolute-form target carries the authority: no Host header needed.
        r = h.raw_request(port, b"GET http://abs.example/p HTTP/1.1\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["headers"].get("host"), "abs.example", r.json())


class PathFragmentTest(h.ProxyTestCase):
    """A '#fragment' in the request target: Envoy answers 400; with Istio's runtime flag
    (envoy.reloadable_features.http_reject_path_with_fragment: false) it is stripped before
    routing, so "/admin#x" cannot dodge a route that matches "/admin" exactly."""

    def start(self, runtime=None):
        self.echo = self.start_echo("frag")
        b = h.Bootstrap()
        b.add_cluster("echo", [("127.0.0.1", self.echo.port)])
        b.add_http_listener("http", [h.vhost([
            h.route(path="/admin", direct=(403, "no")), h.route("echo")])])
        if runtime is not None:
            b.extra["layered_runtime"] = {"layers": [
                {"name": "global config", "static_layer": runtime},
                {"name": "admin", "admin_layer": {}}]}
        return self.start_proxy(b).port()

    def test_rejected_by_default(self):
        port = self.start()
        before = self.echo.counters()
        r = h.raw_request(port, b"GET /a#frag HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertStatus(r, 400)
        self.assertUpstreamUnseen(self.echo, before, "request with a fragment")
        self.assertStatus(h.raw_request(port, h.build_request("GET", "/a")), 200)

    def test_stripped_with_istios_runtime_flag(self):
        port = self.start({"envoy.reloadable_features.http_reject_path_with_fragment": False})
        r = h.raw_request(port, b"GET /a?q=1#frag HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["path"], "/a?q=1")
        r = h.raw_request(port, b"GET /admin#x HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertStatus(r, 403)

    def test_kept_when_both_flags_are_off(self):
        # Envoy's deprecated, unsafe mode: nested keys and string values are runtime too.
        port = self.start({"envoy": {"reloadable_features": {
            "http_reject_path_with_fragment": "false",
            "http_strip_fragment_from_path_unsafe_if_disabled": "false"}}})
        r = h.raw_request(port, b"GET /a#frag HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["path"], "/a#frag")


class ExpectContinueTest(h.ProxyTestCase):
    def test_100_continue(self):
        echo = self.start_echo("expect")
        port = self.start_proxy(h.simple_bootstrap(echo.port)).port()
        body = b"0123456789" * 10000
        with h.RawConn(port) as c:
            c.send(h.build_request("POST", "/expect", [("Content-Length", str(len(body))),
                                                        ("Expect", "100-continue")]))
            version, status, reason, headers, raw = c.read_head(timeout=5)
            self.assertEqual(status, 100, f"expected an interim 100 Continue first, got {raw!r}")
            c.send(body)
            r = c.read_response()
        self.assertStatus(r, 200)
        j = r.json()
        self.assertEqual(j["body_bytes"], len(body))
        # Envoy (proxy_100_continue: false) answers the 100 itself and drops Expect upstream.
        self.assertNotIn("expect", j["headers"], j)


class WebSocketTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("ws")

    def handshake(self, port, path="/chat"):
        key = h.ws_key()
        c = h.RawConn(port)
        self.addCleanup(c.close)
        c.send(h.build_request("GET", path, [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]))
        return c, key, c.read_response()

    def test_websocket_upgrade_and_echo(self):
        port = self.start_proxy(h.simple_bootstrap(self.echo.port,
                                                   route_kw={"websocket": True})).port()
        c, key, r = self.handshake(port)
        self.assertStatus(r, 101)
        self.assertEqual(r.header("sec-websocket-accept"), h.ws_accept(key), repr(r))
        self.assertEqual((r.header("upgrade") or "").lower(), "websocket", repr(r))
        self.assertIn("upgrade", (r.header("connection") or "").lower(), repr(r))

        c.send(h.ws_frame("hello pilotfish"))
        self.assertEqual(h.ws_read_frame(c), (True, 0x1, b"hello pilotfish"))
        big = bytes(range(256)) * 800  # 200 KiB, crosses many reads
        c.send(h.ws_frame(big, opcode=0x2))
        self.assertEqual(h.ws_read_frame(c, timeout=10), (True, 0x2, big))
        c.send(h.ws_frame(b"are you there", opcode=0x9))
        self.assertEqual(h.ws_read_frame(c), (True, 0xA, b"are you there"))
        c.send(h.ws_frame(b"\x03\xe8bye", opcode=0x8))
        fin, opcode, _ = h.ws_read_frame(c)
        self.assertEqual(opcode, 0x8)
        closed, _ = c.wait_closed(timeout=10)
        self.assertTrue(closed, "tunnel not closed after the WebSocket close handshake")

    def test_websocket_rejected_without_upgrade_config(self):
        port = self.start_proxy(h.simple_bootstrap(self.echo.port)).port()
        before = self.echo.counters()
        c, _, r = self.handshake(port)
        self.assertNotEqual(r.status, 101, "upgrade accepted on a route without upgrade_configs")
        # Envoy: 403 (response code details upgrade_failed), and the connection closes.
        self.assertStatus(r, 403)
        closed, _ = c.wait_closed(timeout=5)
        self.assertTrue(closed)
        self.assertUpstreamUnseen(self.echo, before, "rejected upgrade")

    def test_websocket_route_still_serves_plain_requests(self):
        port = self.start_proxy(h.simple_bootstrap(self.echo.port,
                                                   route_kw={"websocket": True})).port()
        r = h.raw_request(port, h.build_request("GET", "/plain"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["path"], "/plain")

    def test_route_disabling_websocket_overrides_the_hcm(self):
        # The HCM allows websocket; a route's upgrade_configs entry with enabled: false wins.
        r_off = h.route("echo", prefix="/off")
        r_off["route"]["upgrade_configs"] = [{"upgrade_type": "websocket", "enabled": False}]
        b = h.Bootstrap()
        b.add_cluster("echo", [("127.0.0.1", self.echo.port)])
        b.add_http_listener("http", [h.vhost([r_off, h.route("echo")])],
                            upgrade_configs=[{"upgrade_type": "websocket"}])
        port = self.start_proxy(b).port()
        c, _, r = self.handshake(port, path="/off")
        self.assertStatus(r, 403)
        c.close()
        c, _, r = self.handshake(port, path="/on")
        self.assertStatus(r, 101)
        c.close()


class HeaderLimitTest(h.ProxyTestCase):
    """Envoy's max_request_headers_kb defaults to 60 and max_request_headers_count to 100."""

    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("limits")
        self.port = self.start_proxy(h.simple_bootstrap(self.echo.port)).port()

    def rejected(self, headers, what):
        before = self.echo.counters()
        with h.RawConn(self.port) as c:
            c.send(h.build_request("GET", "/big", headers))
            r = c.read_response()
            self.assertStatus(r, 431)
            closed, _ = c.wait_closed(timeout=5)
            self.assertTrue(closed, f"{what}: connection left open after 431")
        self.assertUpstreamUnseen(self.echo, before, what)

    def test_70kib_header_gets_431(self):
        self.rejected([("X-Big", "a" * (70 * KIB))], "70 KiB header")

    def test_62kib_header_gets_431(self):
        # Under the echo server's own 64 KiB limit, so a forwarded request would be counted.
        self.rejected([("X-Big", "b" * (62 * KIB))], "62 KiB header")

    def test_many_small_headers_over_60kib_get_431(self):
        self.rejected([(f"X-H{i}", "c" * 700) for i in range(90)], "90 x 700 B headers")

    def test_too_many_headers_get_431(self):
        self.rejected([(f"X-N{i}", "v") for i in range(101)], "101 headers")

    def test_50kib_header_passes(self):
        r = h.raw_request(self.port, h.build_request("GET", "/big", [("X-Big", "d" * (50 * KIB))]))
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json()["headers"].get("x-big", "")), 50 * KIB)

    def test_90_headers_pass(self):
        r = h.raw_request(self.port, h.build_request("GET", "/many",
                                                       [(f"X-N{i}", str(i)) for i in range(90)]))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["headers"].get("x-n89"), "89")


class SmugglingTest(h.ProxyTestCase):
    """Ambiguous or malformed framing is rejected before anything reaches the upstream, and the
    client connection is closed so nothing after the bad request is parsed."""

    SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n"

    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("smuggle")
        # One worker, warmed up: every bad request meets a ready pooled upstream connection,
        # the case where forwarding anything early is most likely.
        self.port = self.start_proxy(h.simple_bootstrap(self.echo.port), concurrency=1).port()
        self.assertStatus(h.raw_request(self.port, h.build_request("GET", "/warmup")), 200)

    def rejected(self, raw, status, what, check_connections=True):
        before = self.echo.counters()
        with h.RawConn(self.port) as c:
            c.send(raw)
            r = c.read_response()
            self.assertStatus(r, status)
            closed, extra = c.wait_closed(timeout=5)
            self.assertTrue(closed, f"{what}: connection left open after {status}")
            self.assertEqual(extra, b"", f"{what}: bytes after the error response")
        after = self.echo.counters()
        self.assertEqual(after["requests_total"], before["requests_total"],
                         f"{what}: the upstream saw a request ({before} -> {after})")
        if check_connections:
            self.assertEqual(after["connections_total"], before["connections_total"],
                             f"{what}: proxy opened an upstream connection ({before} -> {after})")
        # The proxy is still healthy for the next client.
        self.assertStatus(h.raw_request(self.port, h.build_request("GET", "/after")), 200)

    def test_content_length_with_chunked(self):
        body = b"0\r\n\r\n" + self.SMUGGLED
        raw = (b"POST /cl-te HTTP/1.1\r\nHost: example.com\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + body)
        self.rejected(raw, 400, "Content-Length + Transfer-Encoding")

    def test_conflicting_content_lengths(self):
        raw = (b"POST /cl-cl HTTP/1.1\r\nHost: example.com\r\n"
               b"Content-Length: 5\r\nContent-Length: 50\r\n\r\nhello" + self.SMUGGLED)
        self.rejected(raw, 400, "two Content-Length values")

    def test_non_numeric_content_length(self):
        raw = (b"POST /cl-bad HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1x\r\n\r\n"
               + self.SMUGGLED)
        self.rejected(raw, 400, "Content-Length: 1x")

    def test_unknown_transfer_encoding(self):
        raw = (b"POST /te HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: xchunked\r\n\r\n"
               b"0\r\n\r\n" + self.SMUGGLED)
        # Envoy's codec answers an unknown transfer-coding with 501 Not Implemented (RFC 7230
        # 3.3.1), not 400.
        self.rejected(raw, 501, "Transfer-Encoding: xchunked")

    def test_invalid_chunk_size(self):
        raw = (b"POST /chunk HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"zz\r\nhello\r\n0\r\n\r\n" + self.SMUGGLED)
        # The headers are valid, so a proxy may already have started an upstream connection,
        # but nothing of this request may reach the upstream. (Envoy encodes the headers on the
        # pooled connection, but its write is flushed on the next loop iteration, and the reset
        # after the codec error closes that HTTP/1.1 connection without flushing.)
        self.rejected(raw, 400, "chunk size zz", check_connections=False)

    def test_obs_fold_continuation_line(self):
        raw = (b"GET /fold HTTP/1.1\r\nHost: example.com\r\nX-Folded: first\r\n"
               b" second\r\n\r\n")
        self.rejected(raw, 400, "obs-fold header")


class PathNormalizationTest(h.ProxyTestCase):
    """HCM normalize_path (Istio's default pathNormalization BASE) and merge_slashes: routing and
    the upstream see the RFC 3986 normalized path; the query is untouched."""

    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("norm")

    def start(self, **hcm):
        b = h.Bootstrap()
        b.add_cluster("echo", [("127.0.0.1", self.echo.port)])
        admin = {"match": {"prefix": "/admin"},
                 "direct_response": {"status": 403, "body": {"inline_string": "no admin"}}}
        b.add_http_listener("http", [h.vhost([admin, h.route("echo")])], **hcm)
        return self.start_proxy(b).port()

    def path_seen(self, port, path):
        r = h.raw_request(port, h.build_request("GET", path))
        return r.status, (r.json()["path"] if r.status == 200 else r.body)

    def test_normalize_path(self):
        port = self.start(normalize_path=True)
        self.assertEqual(self.path_seen(port, "/a/b/../c/./d?x=/../y"), (200, "/a/c/d?x=/../y"))
        self.assertEqual(self.path_seen(port, "/%61pi/%2e%2e/x%2fy"), (200, "/x%2Fy"))
        # A dot-segment trick cannot reach a route the literal path would not match.
        self.assertEqual(self.path_seen(port, "/public/../admin/users"), (403, b"no admin"))
        self.assertEqual(self.path_seen(port, "/public/%2e%2e/admin"), (403, b"no admin"))
        self.assertEqual(self.path_seen(port, "//a//b"), (200, "//a//b"))  # not merged

    def test_without_normalization_the_path_is_passed_as_is(self):
        port = self.start()
        self.assertEqual(self.path_seen(port, "/public/../admin"), (200, "/public/../admin"))

    def test_merge_slashes(self):
        port = self.start(normalize_path=True, merge_slashes=True)
        self.assertEqual(self.path_seen(port, "//a///b/../c?q=//z"), (200, "/a/c?q=//z"))
        self.assertEqual(self.path_seen(port, "//admin"), (403, b"no admin"))


if __name__ == "__main__":
    h.main()
