#!/usr/bin/env python3
"""Circuit breakers (cluster circuit_breakers.thresholds) enforced cluster-wide across workers:
requests past a limit get Envoy's 503 with x-envoy-overloaded: true and the overflow body (flag
UO); limits are released when requests finish."""

import threading

import harness as h

OVERFLOW_BODY = (b"upstream connect error or disconnect/reset before headers. "
                 b"reset reason: overflow")


def thresholds(**limits):
    return {"circuit_breakers": {"thresholds": [limits]}}


class CircuitBreakerTest(h.ProxyTestCase):
    def start(self, limits, concurrency=2, route_extra=None):
        self.echo = self.start_echo("cb")
        boot = h.simple_bootstrap(self.echo.port, cluster_kw=thresholds(**limits))
        if route_extra:
            vh = boot.listeners[0]["filter_chains"][0]["filters"][0]["typed_config"][
                "route_config"]["virtual_hosts"][0]
            vh["routes"][0]["route"].update(route_extra)
        return self.start_proxy(boot, concurrency=concurrency).port()

    def concurrent(self, port, n, path):
        results = h.concurrent_requests(port, [path] * n)
        for r in results:
            self.assertIsInstance(r, h.Response, f"request failed: {r!r}{self.diag()}")
        return results

    def assertOverflow(self, r):
        self.assertStatus(r, 503)
        self.assertEqual(r.header("x-envoy-overloaded"), "true", repr(r))
        self.assertEqual(r.body, OVERFLOW_BODY)

    def test_max_requests_across_workers(self):
        port = self.start({"max_requests": 2}, concurrency=2)
        results = self.concurrent(port, 6, "/delay/1000")
        ok = [r for r in results if r.status == 200]
        over = [r for r in results if r.status != 200]
        self.assertEqual(len(ok), 2, [r.status for r in results])
        for r in over:
            self.assertOverflow(r)
        # Finished requests give their slots back.
        for i in range(3):
            self.assertStatus(h.http_request(port, path=f"/after{i}"), 200)

    def test_max_connections_and_pending(self):
        # One connection, one request allowed to wait for it: 2 of 4 succeed, 2 overflow.
        # The first request holds the only connection before the others arrive (a request
        # waiting for its connection to be established is pending too, so 4 requests at once
        # could leave only 1 success).
        port = self.start({"max_connections": 1, "max_pending_requests": 1}, concurrency=1)
        before = self.echo.counters()["requests_total"]
        first = []
        t = threading.Thread(
            target=lambda: first.append(h.http_request(port, path="/delay/800", timeout=15)))
        t.start()
        h.poll_until(lambda: self.echo.counters()["requests_total"] > before,
                     what="the first request reached the upstream")
        results = self.concurrent(port, 3, "/delay/800")
        t.join(20)
        results += first
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [200, 200, 503, 503])
        for r in results:
            if r.status == 503:
                self.assertOverflow(r)
        self.assertLessEqual(self.echo.counters()["connections_total"], 1 + 1,
                             "max_connections 1 must cap upstream connections")

    def test_max_retries_zero_disables_retries(self):
        port = self.start({"max_retries": 0}, concurrency=1,
                          route_extra={"retry_policy": {"retry_on": "5xx", "num_retries": 3}})
        before = self.echo.counters()["requests_total"]
        self.assertStatus(h.http_request(port, path="/status/500"), 500)
        self.assertEqual(self.echo.counters()["requests_total"] - before, 1)


if __name__ == "__main__":
    import unittest
    unittest.main()
