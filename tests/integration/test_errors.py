#!/usr/bin/env python3
"""Local replies, as Envoy sends them: 503 when the upstream cannot be reached or resets (UF/UC),
404 when no route matches (NR), 504 on the route timeout (UT), and direct_response routes.
Response flags are checked through a file access log."""

import os
import time

import harness as h
from harness import route, vhost

ACCESS_LOG_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"


class UpstreamErrorTest(h.ProxyTestCase):
    def test_upstream_down_gives_503(self):
        closed_port = h.free_port()  # nothing listens here
        proxy = self.start_proxy(h.simple_bootstrap(closed_port,
                                                    cluster_kw={"connect_timeout": "1s"}))
        r = h.raw_request(proxy.port(), h.build_request("GET", "/down"), timeout=15)
        self.assertStatus(r, 503)
        body = r.body.decode(errors="replace")
        self.assertTrue(body.startswith(h.UPSTREAM_CONNECT_ERROR), repr(r))
        self.assertIn("connection failure", body)
        self.assertEqual(r.header("content-type"), "text/plain", repr(r))
        self.assertEqual(r.header("server"), "envoy", repr(r))

    def test_upstream_reset_before_headers_gives_503(self):
        echo = self.start_echo("reset")
        proxy = self.start_proxy(h.simple_bootstrap(echo.port))
        r = h.raw_request(proxy.port(), h.build_request("GET", "/reset"))
        self.assertStatus(r, 503)
        body = r.body.decode(errors="replace")
        self.assertTrue(body.startswith(h.UPSTREAM_CONNECT_ERROR), repr(r))
        self.assertIn("connection termination", body)
        # The proxy keeps working after the upstream reset.
        self.assertStatus(h.raw_request(proxy.port(), h.build_request("GET", "/ok")), 200)

    def test_route_timeout_gives_504(self):
        echo = self.start_echo("hang")
        proxy = self.start_proxy(h.simple_bootstrap(echo.port, route_kw={"timeout": "1s"}))
        start = time.monotonic()
        r = h.raw_request(proxy.port(), h.build_request("GET", "/hang"), timeout=15)
        elapsed = time.monotonic() - start
        self.assertStatus(r, 504)
        self.assertEqual(r.body, b"upstream request timeout")
        self.assertGreaterEqual(elapsed, 0.9, "504 before the 1s route timeout")
        # The timed-out upstream request is reset, which closes its HTTP/1.1 connection.
        h.poll_until(lambda: echo.counters()["connections_active"] == 0, timeout=5,
                     what="the proxy to close the timed-out upstream connection")


class NoRouteTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("nr")
        boot = h.Bootstrap()
        boot.add_cluster("echo", [("127.0.0.1", self.echo.port)])
        boot.add_http_listener("http", [vhost([route("echo", prefix="/api")],
                                              domains=["only.example.com"])])
        self.port = self.start_proxy(boot).port()

    def test_unknown_host_gives_404(self):
        before = self.echo.counters()
        r = h.raw_request(self.port, h.build_request("GET", "/api/x", host="other.example.com"))
        self.assertStatus(r, 404)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("content-length"), "0", repr(r))
        self.assertEqual(r.header("server"), "envoy", repr(r))
        self.assertUpstreamUnseen(self.echo, before, "no matching virtual host")

    def test_unmatched_path_gives_404(self):
        before = self.echo.counters()
        r = h.raw_request(self.port, h.build_request("GET", "/other", host="only.example.com"))
        self.assertStatus(r, 404)
        self.assertEqual(r.body, b"")
        self.assertUpstreamUnseen(self.echo, before, "no matching route")
        r = h.raw_request(self.port, h.build_request("GET", "/api/x", host="only.example.com"))
        self.assertStatus(r, 200)

    def test_404_keeps_connection_open(self):
        with h.RawConn(self.port) as c:
            c.send(h.build_request("GET", "/nope", host="only.example.com"))
            self.assertStatus(c.read_response(), 404)
            c.send(h.build_request("GET", "/api/y", host="only.example.com"))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["path"], "/api/y")


class DirectResponseTest(h.ProxyTestCase):
    def test_direct_responses(self):
        boot = h.Bootstrap()
        boot.add_cluster("unused", [("127.0.0.1", h.free_port())])
        boot.add_http_listener("http", [vhost([
            route(path="/ok", direct=(200, "hello direct\n")),
            route(path="/maintenance", direct=(503, "down for maintenance")),
            route(path="/forbidden", direct=(403, None)),
            route("unused", prefix="/"),
        ])])
        port = self.start_proxy(boot).port()
        r = h.raw_request(port, h.build_request("GET", "/ok"))
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"hello direct\n")
        self.assertEqual(r.header("content-length"), str(len(b"hello direct\n")))
        r = h.raw_request(port, h.build_request("GET", "/maintenance"))
        self.assertStatus(r, 503)
        self.assertEqual(r.body, b"down for maintenance")
        r = h.raw_request(port, h.build_request("POST", "/forbidden", body=b"ignored"))
        self.assertStatus(r, 403)
        self.assertEqual(r.body, b"")


class ResponseFlagsTest(h.ProxyTestCase):
    """%RESPONSE_FLAGS% in a file access log: UF, UC, NR, UT, and "-" for success."""

    def test_response_flags_in_access_log(self):
        echo = self.start_echo("flags")
        log_path = os.path.join(self.tmpdir, "access.log")
        boot = h.Bootstrap()
        boot.add_cluster("echo", [("127.0.0.1", echo.port)])
        boot.add_cluster("down", [("127.0.0.1", h.free_port())])
        boot.add_http_listener(
            "http",
            [vhost([route("down", prefix="/down"),
                    route("echo", prefix="/hang", timeout="1s"),
                    route("echo", prefix="/")],
                   domains=["flags.example.com"])],
            access_log=[{
                "name": "envoy.access_loggers.file",
                "typed_config": {
                    "@type": ACCESS_LOG_TYPE,
                    "path": log_path,
                    "log_format": {"text_format_source": {
                        "inline_string": "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(:PATH)%\n"}},
                },
            }])
        port = self.start_proxy(boot).port()
        host = "flags.example.com"
        expected = [("/ok", 200, "-"), ("/down", 503, "UF"), ("/hang", 504, "UT"),
                    ("/reset", 503, "UC")]
        for path, status, _ in expected:
            self.assertStatus(h.raw_request(port, h.build_request("GET", path, host=host),
                                            timeout=15), status)
        self.assertStatus(h.raw_request(port, h.build_request("GET", "/x", host="nope.test")),
                          404)
        expected.append(("/x", 404, "NR"))

        def lines():
            try:
                with open(log_path) as f:
                    got = [l.split() for l in f.read().splitlines() if l.strip()]
            except FileNotFoundError:
                return None
            return got if len(got) >= len(expected) else None

        # Envoy (and pilotfish) flush access log files every 10 s by default
        # (--file-flush-interval-msec).
        got = h.poll_until(lines, timeout=20, what=f"{len(expected)} access log lines")
        by_path = {l[2]: l for l in got if len(l) == 3}
        for path, status, flag in expected:
            self.assertIn(path, by_path, f"no access log line for {path}: {got}")
            self.assertEqual(by_path[path][0], str(status), by_path[path])
            self.assertEqual(by_path[path][1], flag, f"{path}: {by_path[path]}")


if __name__ == "__main__":
    h.main()
