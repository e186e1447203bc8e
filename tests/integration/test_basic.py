#!/usr/bin/env python3
"""Basic HTTP/1.1 proxying: requests reach the upstream with Envoy's request headers, responses
come back with Envoy's response headers, and routing picks clusters by path and host."""

import json
import os
import subprocess

import harness as h
from harness import route, vhost


class BasicProxyTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("echo1")
        self.proxy = self.start_proxy(h.simple_bootstrap(self.echo.port))
        self.port = self.proxy.port()

    def test_get_reaches_upstream(self):
        r = h.raw_request(self.port, h.build_request("GET", "/some/path?x=1&y=2",
                                                       [("X-Test-Header", "hello")]))
        self.assertStatus(r, 200)
        self.assertEqual(r.header("x-echo-server"), "echo1", repr(r))
        j = r.json()
        self.assertEqual(j["server"], "echo1")
        self.assertEqual(j["method"], "GET")
        self.assertEqual(j["path"], "/some/path?x=1&y=2")
        self.assertEqual(j["headers"].get("x-test-header"), "hello", j)
        self.assertEqual(j["headers"].get("host"), "example.com", j)
        self.assertEqual(j["body_bytes"], 0)

    def test_upstream_sees_envoy_request_headers(self):
        r = h.raw_request(self.port, h.build_request("GET", "/headers"))
        self.assertStatus(r, 200)
        up = r.json()["headers"]
        self.assertEqual(up.get("x-forwarded-proto"), "http", up)
        rid = up.get("x-request-id", "")
        self.assertRegex(rid, h.UUID_RE, f"generated x-request-id should be a UUID: {up}")
        self.assertEqual(up.get("x-envoy-expected-rq-timeout-ms"), "15000", up)
        # Two requests get two different ids.
        rid2 = h.raw_request(self.port, h.build_request("GET", "/headers")).json()["headers"].get(
            "x-request-id")
        self.assertNotEqual(rid, rid2)

    def test_two_proxies_do_not_repeat_each_others_request_ids(self):
        # Every random draw (x-request-id, weighted clusters, fault percentages, random LB) is
        # seeded per process: two sidecars started alike must not produce the same sequence.
        ids = []
        for label in ("pilotfish-a", "pilotfish-b"):
            p = self.start_proxy(h.simple_bootstrap(self.echo.port), concurrency=1, label=label)
            ids.append([h.raw_request(p.port(), h.build_request("GET", "/rid")).json()["headers"]
                        .get("x-request-id") for _ in range(3)])
        self.assertTrue(set(ids[0]).isdisjoint(ids[1]), ids)

    def test_client_request_id_still_present_upstream(self):
        r = h.raw_request(self.port, h.build_request(
            "GET", "/rid", [("x-request-id", "11111111-2222-4333-8444-555555555555")]))
        self.assertStatus(r, 200)
        rid = r.json()["headers"].get("x-request-id", "")
        self.assertTrue(rid.strip(), f"x-request-id missing upstream: {r.json()}")

    def test_response_has_envoy_headers(self):
        r = h.raw_request(self.port, h.build_request("GET", "/resp"))
        self.assertStatus(r, 200)
        self.assertEqual(r.header("server"), "envoy", repr(r))
        ust = r.header("x-envoy-upstream-service-time")
        self.assertIsNotNone(ust, f"no x-envoy-upstream-service-time: {r!r}")
        self.assertRegex(ust, r"^\d+$")
        self.assertEqual(r.header("x-echo-server"), "echo1")
        self.assertEqual(r.header("content-type"), "application/json")

    def test_hop_by_hop_request_headers_not_forwarded(self):
        r = h.raw_request(self.port, h.build_request("GET", "/hop", [
            ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"),
            ("X-Kept", "yes")]))
        self.assertStatus(r, 200)
        up = r.json()["headers"]
        self.assertEqual(up.get("x-kept"), "yes", up)
        self.assertNotIn("keep-alive", up)
        self.assertNotIn("proxy-connection", up)

    def test_post_body_reaches_upstream(self):
        body = os.urandom(100_000)
        r = h.raw_request(self.port, h.build_request("POST", "/upload", body=body))
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"bytes": len(body), "sha256": h.sha256_hex(body)})
        r = h.raw_request(self.port, h.build_request("PUT", "/json", body=b"abc"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["method"], "PUT")
        self.assertEqual(r.json()["body_bytes"], 3)

    def test_head_request_has_no_body(self):
        with h.RawConn(self.port) as c:
            c.send(h.build_request("HEAD", "/bytes/1000"))
            r = c.read_response(method="HEAD")
            self.assertStatus(r, 200)
            self.assertEqual(r.header("content-length"), "1000", repr(r))
            # If the proxy sent a body after the HEAD response, it would be parsed here as junk.
            c.send(h.build_request("GET", "/after-head"))
            r2 = c.read_response()
            self.assertStatus(r2, 200)
            self.assertEqual(r2.json()["path"], "/after-head")

    def test_head_without_length_never_claims_an_empty_body(self):
        # The upstream answers HEAD with the headers its chunked GET would have. Envoy then
        # announces chunked (HTTP/1.1) or nothing (HTTP/1.0), never "content-length: 0", which
        # would tell the client the resource is empty.
        with h.RawConn(self.port) as c:
            c.send(h.build_request("HEAD", "/bytes/1000?chunked=1"))
            r = c.read_response(method="HEAD")
            self.assertStatus(r, 200)
            self.assertIsNone(r.header("content-length"), repr(r))
            self.assertEqual(r.header("transfer-encoding"), "chunked", repr(r))
            c.send(h.build_request("GET", "/after-head"))
            r2 = c.read_response()
            self.assertStatus(r2, 200)
            self.assertEqual(r2.json()["path"], "/after-head")
        with h.RawConn(self.port) as c:
            c.send(b"HEAD /bytes/1000?chunked=1 HTTP/1.0\r\nHost: example.com\r\n\r\n")
            r = c.read_response(method="HEAD")
            self.assertStatus(r, 200)
            self.assertIsNone(r.header("content-length"), repr(r))
            self.assertIsNone(r.header("transfer-encoding"), repr(r))

    def test_upstream_status_codes_pass_through(self):
        for code in (201, 404, 503):
            r = h.raw_request(self.port, h.build_request("GET", f"/status/{code}"))
            self.assertStatus(r, code)
            self.assertEqual(r.body, f"{code}\n".encode())
            self.assertEqual(r.header("x-echo-server"), "echo1", "must come from the upstream")


class CurlTest(h.ProxyTestCase):
    """A real outside client."""

    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("echo-curl")
        self.proxy = self.start_proxy(h.simple_bootstrap(self.echo.port))

    def curl(self, *args):
        p = subprocess.run(["curl", "-sS", "-v", "--max-time", "20", *args],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, f"curl failed: {p.stderr.decode(errors='replace')}"
                         f"{self.diag()}")
        return p.stdout, p.stderr.decode(errors="replace")

    def test_curl_get(self):
        out, err = self.curl(f"http://127.0.0.1:{self.proxy.port()}/curl/get?q=1")
        self.assertIn("< HTTP/1.1 200", err)
        self.assertIn("< server: envoy", err.lower())
        j = json.loads(out)
        self.assertEqual(j["path"], "/curl/get?q=1")
        self.assertTrue(j["headers"]["user-agent"].startswith("curl/"), j)

    def test_curl_post_file(self):
        path = os.path.join(self.tmpdir, "upload.bin")
        data = os.urandom(3 * 1024 * 1024 + 7)
        with open(path, "wb") as f:
            f.write(data)
        out, err = self.curl("--data-binary", f"@{path}", "-H",
                             "Content-Type: application/octet-stream",
                             f"http://127.0.0.1:{self.proxy.port()}/upload")
        self.assertIn("< HTTP/1.1 200", err)
        self.assertEqual(json.loads(out), {"bytes": len(data), "sha256": h.sha256_hex(data)})


class RoutingTest(h.ProxyTestCase):
    def test_routes_by_path_to_clusters(self):
        a, b, c = self.start_echo("A"), self.start_echo("B"), self.start_echo("C")
        boot = h.Bootstrap()
        boot.add_cluster("a", [("127.0.0.1", a.port)])
        boot.add_cluster("b", [("127.0.0.1", b.port)])
        boot.add_cluster("c", [("127.0.0.1", c.port)])
        boot.add_http_listener("http", [vhost([
            route("c", path="/exact"),
            route("b", prefix="/b/"),
            route("a", prefix="/"),
        ])])
        port = self.start_proxy(boot).port()
        for path, want in [("/b/x", "B"), ("/b/", "B"), ("/bx", "A"), ("/exact", "C"),
                           ("/exact/more", "A"), ("/", "A")]:
            r = h.raw_request(port, h.build_request("GET", path))
            self.assertStatus(r, 200)
            self.assertEqual(r.header("x-echo-server"), want, f"{path}: {r!r}")

    def test_routes_by_host_to_virtual_hosts(self):
        a, b = self.start_echo("A"), self.start_echo("B")
        boot = h.Bootstrap()
        boot.add_cluster("a", [("127.0.0.1", a.port)])
        boot.add_cluster("b", [("127.0.0.1", b.port)])
        boot.add_http_listener("http", [
            vhost([route("b")], domains=["b.example.com", "*.b.test"]),
            vhost([route("a")], domains=["*"]),
        ])
        port = self.start_proxy(boot).port()
        for host, want in [("b.example.com", "B"), ("B.Example.Com", "B"), ("x.b.test", "B"),
                           ("other.example.com", "A"),
                           # Envoy matches the port too (ignore_port_in_host_matching defaults
                           # to false), so this falls through to the "*" virtual host.
                           ("b.example.com:8080", "A")]:
            r = h.raw_request(port, h.build_request("GET", "/", host=host))
            self.assertStatus(r, 200)
            self.assertEqual(r.header("x-echo-server"), want, f"Host {host}: {r!r}")

    def test_round_robin_across_endpoints(self):
        a, b = self.start_echo("A"), self.start_echo("B")
        boot = h.Bootstrap()
        boot.add_cluster("ab", [("127.0.0.1", a.port), ("127.0.0.1", b.port)])
        boot.add_http_listener("http", [vhost([route("ab")])])
        port = self.start_proxy(boot).port()
        seen = {"A": 0, "B": 0}
        with h.RawConn(port) as c:
            for i in range(10):
                c.send(h.build_request("GET", f"/rr/{i}"))
                r = c.read_response()
                self.assertStatus(r, 200)
                seen[r.header("x-echo-server")] += 1
        self.assertGreater(seen["A"], 0, seen)
        self.assertGreater(seen["B"], 0, seen)

    def test_route_timeout_sets_expected_timeout_header(self):
        echo = self.start_echo()
        boot = h.Bootstrap()
        boot.add_cluster("echo", [("127.0.0.1", echo.port)])
        boot.add_http_listener("http", [vhost([
            route("echo", prefix="/five", timeout="5s"),
            route("echo", prefix="/none", timeout="0s"),
            route("echo", prefix="/"),
        ])])
        port = self.start_proxy(boot).port()
        up = h.raw_request(port, h.build_request("GET", "/five")).json()["headers"]
        self.assertEqual(up.get("x-envoy-expected-rq-timeout-ms"), "5000", up)
        up = h.raw_request(port, h.build_request("GET", "/none")).json()["headers"]
        self.assertNotIn("x-envoy-expected-rq-timeout-ms", up,
                         "timeout 0s disables the timeout; Envoy sends no expected timeout")
        up = h.raw_request(port, h.build_request("GET", "/default")).json()["headers"]
        self.assertEqual(up.get("x-envoy-expected-rq-timeout-ms"), "15000", up)


if __name__ == "__main__":
    h.main()
