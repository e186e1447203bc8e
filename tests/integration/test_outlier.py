#!/usr/bin/env python3
"""Outlier detection as a user sees it: one of four endpoints answers every request with 500;
after outlier_detection's consecutive_5xx (5) errors it is ejected and the other three serve all
traffic, across every worker."""

import harness as h

BAD_RESPONSE = (b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n"
                b"x-echo-server: bad\r\n\r\nbad\n")


class AlwaysFailingServer(h.FakeUpstream):
    """A keep-alive HTTP/1.1 server answering every request head with 500; counts requests."""

    def __init__(self):
        super().__init__()
        self.requests = 0

    def handle(self, conn):
        buf = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\r\n\r\n" in buf:  # GETs only: no bodies
                _, buf = buf.split(b"\r\n\r\n", 1)
                with self.lock:
                    self.requests += 1
                conn.sendall(BAD_RESPONSE)


class OutlierDetectionTest(h.ProxyTestCase):
    def one_bad_of_four(self):
        bad = AlwaysFailingServer()
        bad.start()
        self.addCleanup(bad.stop)
        good = [self.start_echo(f"good{i}") for i in range(3)]
        return bad, [("127.0.0.1", bad.port)] + [("127.0.0.1", e.port) for e in good]

    def test_bad_endpoint_is_ejected_after_five_consecutive_5xx(self):
        bad, endpoints = self.one_bad_of_four()
        b = h.Bootstrap()
        b.add_cluster("svc", endpoints, outlier_detection={
            "consecutive_5xx": 5, "interval": "10s", "base_ejection_time": "30s",
            "max_ejection_percent": 50})
        b.add_http_listener("http", [h.vhost([h.route("svc")])])
        port = self.start_proxy(b, concurrency=2).port()

        statuses = [h.http_request(port, path=f"/r{i}").status for i in range(200)]
        self.assertEqual(bad.requests, 5, "ejected after exactly 5 consecutive 5xx")
        self.assertEqual(statuses.count(500), 5)
        self.assertEqual(statuses.count(200), 195)
        # Everything after the ejection went to the healthy hosts.
        last_500 = max(i for i, s in enumerate(statuses) if s == 500)
        self.assertTrue(all(s == 200 for s in statuses[last_500 + 1:]))

    def test_without_outlier_detection_the_bad_endpoint_keeps_its_share(self):
        bad, endpoints = self.one_bad_of_four()
        b = h.Bootstrap()
        b.add_cluster("svc", endpoints)
        b.add_http_listener("http", [h.vhost([h.route("svc")])])
        port = self.start_proxy(b, concurrency=1).port()
        statuses = [h.http_request(port, path=f"/r{i}").status for i in range(100)]
        self.assertEqual(statuses.count(500), 25, "round robin: one request in four")


if __name__ == "__main__":
    import unittest
    unittest.main()
