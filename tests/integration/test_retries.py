#!/usr/bin/env python3
"""Retries as Envoy's router does them, seen by a user: a flaky upstream's 500s turned into
successes, per-try timeouts moving to a healthy host, connect failures retried, the request body
replayed, x-envoy-attempt-count, and the last response returned when retries run out."""

import time

import harness as h
from harness import vhost

RETRY_5XX = {"retry_on": "5xx", "num_retries": 3}


def route_with(cluster, retry_policy=None, **action):
    r = h.route(cluster, prefix="/")
    if retry_policy is not None:
        r["route"]["retry_policy"] = retry_policy
    r["route"].update(action)
    return r


class HangingServer(h.FakeUpstream):
    """Accepts connections and reads requests but never answers (a stuck upstream)."""

    def handle(self, conn):
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass


class RetryTest(h.ProxyTestCase):
    def proxy_for(self, routes, clusters, vhost_extra=None):
        b = h.Bootstrap()
        for name, endpoints, extra in clusters:
            b.add_cluster(name, endpoints, **extra)
        vh = vhost(routes)
        vh.update(vhost_extra or {})
        b.add_http_listener("http", [vh])
        return self.start_proxy(b, concurrency=1).port()

    def success_rate(self, port, n, path):
        ok = 0
        for i in range(n):
            r = h.http_request(port, path=path)
            ok += r.status == 200
        return ok / n

    def test_retries_turn_a_flaky_upstream_into_successes(self):
        echo = self.start_echo("flaky")
        port = self.proxy_for([route_with("echo", RETRY_5XX)],
                              [("echo", [("127.0.0.1", echo.port)], {})])
        rate = self.success_rate(port, 200, "/fail?rate=50")
        self.assertGreaterEqual(rate, 0.99)

    def test_without_retries_about_half_fail(self):
        echo = self.start_echo("flaky")
        port = self.proxy_for([route_with("echo")], [("echo", [("127.0.0.1", echo.port)], {})])
        rate = self.success_rate(port, 200, "/fail?rate=50")
        self.assertGreater(rate, 0.40)
        self.assertLess(rate, 0.60)

    def test_retries_exhausted_return_the_last_response(self):
        echo = self.start_echo("always500")
        port = self.proxy_for([route_with("echo", {"retry_on": "5xx", "num_retries": 2})],
                              [("echo", [("127.0.0.1", echo.port)], {})])
        before = echo.counters()["requests_total"]
        r = h.http_request(port, path="/status/500")
        self.assertStatus(r, 500)
        self.assertEqual(echo.counters()["requests_total"] - before, 3, "1 try + 2 retries")

    def test_not_retried_when_retry_on_does_not_cover_the_status(self):
        echo = self.start_echo("gw")
        port = self.proxy_for([route_with("echo", {"retry_on": "gateway-error",
                                                    "num_retries": 3})],
                              [("echo", [("127.0.0.1", echo.port)], {})])
        before = echo.counters()["requests_total"]
        self.assertStatus(h.http_request(port, path="/status/500"), 500)
        self.assertEqual(echo.counters()["requests_total"] - before, 1)
        self.assertStatus(h.http_request(port, path="/status/503"), 503)
        self.assertEqual(echo.counters()["requests_total"] - before, 1 + 4)

    def test_request_body_is_replayed_on_retry(self):
        echo = self.start_echo("replay")
        port = self.proxy_for([route_with("echo", RETRY_5XX)],
                              [("echo", [("127.0.0.1", echo.port)], {})])
        body = bytes(range(256)) * 1024  # 256 KiB
        for _ in range(6):  # every other attempt fails upstream: retries carry the body
            r = h.http_request(port, method="POST", path="/fail?rate=50", body=body)
            self.assertStatus(r, 200)
        # And the body reaches the upstream intact after a retry: echo it back.
        r = h.http_request(port, method="POST", path="/upload", body=body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["sha256"], h.sha256_hex(body))

    def test_per_try_timeout_moves_to_the_healthy_host(self):
        hang = HangingServer()
        hang.start()
        self.addCleanup(hang.stop)
        echo = self.start_echo("healthy")
        policy = {"retry_on": "5xx", "num_retries": 2, "per_try_timeout": "0.3s",
                  "retry_host_predicate": [{
                      "name": "envoy.retry_host_predicates.previous_hosts",
                      "typed_config": {"@type": "type.googleapis.com/envoy.extensions.retry.host."
                                                "previous_hosts.v3.PreviousHostsPredicate"}}],
                  "host_selection_retry_max_attempts": 5}
        port = self.proxy_for(
            [route_with("both", policy, timeout="5s")],
            [("both", [("127.0.0.1", hang.port), ("127.0.0.1", echo.port)], {})])
        start = time.monotonic()
        for i in range(6):
            r = h.http_request(port, path=f"/item/{i}", timeout=10)
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["server"], "healthy")
        self.assertGreaterEqual(hang.accepted, 1, "round robin never tried the stuck host")
        self.assertLess(time.monotonic() - start, 6 * 1.0)

    def test_connect_failure_is_retried_on_another_host(self):
        echo = self.start_echo("up")
        dead = h.free_port()  # nothing listens there
        port = self.proxy_for(
            [route_with("mixed", {"retry_on": "connect-failure", "num_retries": 2,
                                  "retry_host_predicate": [{
                                      "name": "envoy.retry_host_predicates.previous_hosts",
                                      "typed_config": {
                                          "@type": "type.googleapis.com/envoy.extensions.retry."
                                                   "host.previous_hosts.v3.PreviousHostsPredicate"}}]})],
            [("mixed", [("127.0.0.1", dead), ("127.0.0.1", echo.port)], {})])
        for i in range(6):
            self.assertStatus(h.http_request(port, path=f"/c{i}"), 200)

    def test_attempt_count_header(self):
        # Round robin over a dead port and the echo server: a request whose first attempt hits
        # the dead port is retried, and the upstream sees attempt 2.
        echo = self.start_echo("count")
        port = self.proxy_for(
            [route_with("mixed", {"retry_on": "connect-failure", "num_retries": 2})],
            [("mixed", [("127.0.0.1", h.free_port()), ("127.0.0.1", echo.port)], {})],
            vhost_extra={"include_request_attempt_count": True,
                         "include_attempt_count_in_response": True})
        counts = []
        for i in range(6):
            r = h.http_request(port, path=f"/n{i}")
            self.assertStatus(r, 200)
            upstream_saw = r.json()["headers"]["x-envoy-attempt-count"]
            self.assertEqual(r.header("x-envoy-attempt-count"), upstream_saw)
            counts.append(upstream_saw)
        # Round robin starts at a random host (as Envoy's does), so the first request may reach
        # the echo server at once; from then on every request meets the dead port first and its
        # retry the echo server: 2 attempts.
        self.assertIn(counts[0], {"1", "2"}, counts)
        self.assertEqual(set(counts[1:]), {"2"}, counts)

    def test_request_headers_ask_for_retries_and_a_timeout_and_are_stripped(self):
        # No retry policy on the route: x-envoy-retry-on / x-envoy-max-retries alone enable
        # retries, x-envoy-upstream-rq-timeout-ms sets the route timeout, and none of them
        # reaches the upstream (Envoy's router honours and strips them).
        echo = self.start_echo("hdr")
        port = self.proxy_for([route_with("echo")], [("echo", [("127.0.0.1", echo.port)], {})])
        before = echo.counters()["requests_total"]
        r = h.http_request(port, path="/status/503",
                           headers={"x-envoy-retry-on": "5xx", "x-envoy-max-retries": "2"})
        self.assertStatus(r, 503)
        self.assertEqual(echo.counters()["requests_total"] - before, 3, "1 try + 2 retries")
        r = h.http_request(port, path="/fail?rate=50",
                           headers={"X-Envoy-Retry-On": "5xx", "X-Envoy-Max-Retries": "5"})
        self.assertStatus(r, 200)
        r = h.http_request(port, path="/seen", headers={
            "x-envoy-retry-on": "5xx", "x-envoy-max-retries": "1",
            "x-envoy-retriable-status-codes": "418", "x-envoy-upstream-rq-timeout-ms": "3000",
            "x-envoy-upstream-rq-per-try-timeout-ms": "2000", "x-other": "kept",
            "x-envoy-expected-rq-timeout-ms": "1"})  # the client's copy is replaced
        self.assertStatus(r, 200)
        seen = r.json()["headers"]
        for name in ("x-envoy-retry-on", "x-envoy-max-retries", "x-envoy-retriable-status-codes",
                     "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms"):
            self.assertNotIn(name, seen)
        self.assertEqual(seen["x-other"], "kept")
        self.assertEqual(seen["x-envoy-expected-rq-timeout-ms"], "3000")  # one, the router's
        started = time.monotonic()
        r = h.http_request(port, path="/delay/3000",
                           headers={"x-envoy-upstream-rq-timeout-ms": "300"})
        self.assertStatus(r, 504)
        self.assertLess(time.monotonic() - started, 2.5)


if __name__ == "__main__":
    import unittest
    unittest.main()
