#!/usr/bin/env python3
"""The retry budget (circuit_breakers.thresholds[].retry_budget), cluster-wide across workers: it
replaces max_retries, and lets max(min_retry_concurrency, budget_percent of the outstanding
requests) retries run at once; a failure that finds no room is not retried: its response goes
back as it is, and upstream_rq_retry_overflow counts it."""

import threading

import harness as h
from harness import vhost

CONCURRENT = 10


def read_head(conn):
    """One request head from a keep-alive connection (GET, no body), or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


class FailingUpstream(h.FakeUpstream):
    """Answers 503 to everything. First attempts are held until CONCURRENT of them are in, then
    all fail at once; retries (x-envoy-attempt-count > 1) fail after a second, so a retry keeps
    its slot in the budget while every first attempt fails."""

    def __init__(self):
        super().__init__()
        self.barrier = threading.Barrier(CONCURRENT)
        self.first_attempts = 0
        self.retries = 0

    def handle(self, conn):
        try:
            while True:
                headers = read_head(conn)
                if headers is None:
                    return
                attempt = int(headers.get("x-envoy-attempt-count", "0"))
                with self.lock:
                    if attempt == 1:
                        self.first_attempts += 1
                    else:
                        self.retries += 1
                if attempt == 1:
                    try:
                        self.barrier.wait(timeout=10)
                    except threading.BrokenBarrierError:
                        pass
                else:
                    threading.Event().wait(1.0)
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy")
        except OSError:
            pass


class RetryBudgetTest(h.ProxyTestCase):
    def start(self, thresholds):
        self.up = FailingUpstream()
        self.up.start()
        self.addCleanup(self.up.stop)
        b = h.Bootstrap()
        b.add_cluster("busy", [("127.0.0.1", self.up.port)],
                      circuit_breakers={"thresholds": [thresholds]})
        vh = vhost([h.route("busy", prefix="/", timeout="10s",
                            retry_policy={"retry_on": "5xx", "num_retries": 1})])
        vh["include_request_attempt_count"] = True
        b.add_http_listener("http", [vh])
        self.proxy = self.start_proxy(b, concurrency=2)
        return self.proxy.port()

    def concurrent_requests(self, port):
        results = h.concurrent_requests(port, [f"/r{i}" for i in range(CONCURRENT)], timeout=20)
        for r in results:
            self.assertIsInstance(r, h.Response, f"request failed: {r!r}{self.diag()}")
        return results

    def test_budget_caps_concurrent_retries(self):
        # 20% of at most 10 outstanding requests is at most 2: min_retry_concurrency (2) rules.
        # max_retries 100 would let every request retry: the budget replaces it.
        port = self.start({"max_retries": 100,
                           "retry_budget": {"budget_percent": {"value": 20},
                                            "min_retry_concurrency": 2}})
        results = self.concurrent_requests(port)
        # Retried or not, every request ends with the upstream's own 503.
        for r in results:
            self.assertStatus(r, 503)
            self.assertEqual(r.body, b"busy")
        self.assertEqual(self.up.first_attempts, CONCURRENT)
        self.assertEqual(self.up.retries, 2, "only min_retry_concurrency retries at once")
        self.assertEqual(self.proxy.stat("cluster.busy.upstream_rq_retry"), 2)
        self.assertEqual(self.proxy.stat("cluster.busy.upstream_rq_retry_overflow"), CONCURRENT - 2)

    def test_budget_slots_are_given_back(self):
        # budget_percent defaults to 20%; max_retries keeps its default (3), which must not apply.
        port = self.start({"retry_budget": {"min_retry_concurrency": 4}})
        self.concurrent_requests(port)
        self.assertEqual(self.up.retries, 4)
        self.assertEqual(self.proxy.stat("cluster.busy.upstream_rq_retry_overflow"), CONCURRENT - 4)
        # Nothing is retrying now: a lone failing request gets its retry.
        self.up.barrier = threading.Barrier(1)
        self.assertStatus(h.http_request(port, path="/alone", timeout=20), 503)
        self.assertEqual(self.up.retries, 5)
        self.assertEqual(self.proxy.stat("cluster.busy.upstream_rq_retry"), 5)


if __name__ == "__main__":
    import unittest
    unittest.main()
