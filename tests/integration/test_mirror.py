#!/usr/bin/env python3
"""Request mirroring (request_mirror_policies, Istio's VirtualService mirror): every request is
also sent to the mirror cluster, body included, fire and forget; the client only ever sees the
primary's response, even when the mirror is down or slow."""

import time

import harness as h


class MirrorTest(h.ProxyTestCase):
    def proxy(self, primary_port, mirror_port, mirror_extra=None):
        b = h.Bootstrap()
        b.add_cluster("primary", [("127.0.0.1", primary_port)])
        b.add_cluster("mirror", [("127.0.0.1", mirror_port)])
        r = h.route("primary")
        policy = {"cluster": "mirror"}
        policy.update(mirror_extra or {})
        r["route"]["request_mirror_policies"] = [policy]
        b.add_http_listener("http", [h.vhost([r])])
        return self.start_proxy(b, concurrency=2).port()

    def test_every_request_is_mirrored_with_its_body(self):
        primary, mirror = self.start_echo("primary"), self.start_echo("mirror")
        port = self.proxy(primary.port, mirror.port)
        before = mirror.counters()["requests_total"]
        body = b"x" * 5000
        for i in range(20):
            r = h.http_request(port, method="POST", path=f"/upload?i={i}", body=body)
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["bytes"], len(body))
            self.assertEqual(r.header("x-echo-server"), "primary")
        h.poll_until(lambda: mirror.counters()["requests_total"] - before >= 20, timeout=10,
                     what="20 mirrored requests")
        self.assertEqual(mirror.counters()["requests_total"] - before, 20)

    def test_mirror_down_or_slow_does_not_affect_the_client(self):
        primary = self.start_echo("primary")
        port = self.proxy(primary.port, h.free_port())  # nothing listens for the mirror
        for i in range(10):
            r = h.http_request(port, path=f"/m{i}")
            self.assertStatus(r, 200)
            self.assertEqual(r.header("x-echo-server"), "primary")

    def test_fraction_zero_mirrors_nothing(self):
        primary, mirror = self.start_echo("primary"), self.start_echo("mirror")
        port = self.proxy(primary.port, mirror.port, {"runtime_fraction": {
            "default_value": {"numerator": 0, "denominator": "HUNDRED"}}})
        before = mirror.counters()["requests_total"]
        for i in range(10):
            self.assertStatus(h.http_request(port, path=f"/z{i}"), 200)
        # A mirrored copy would have arrived by the time the primaries answered 10 requests
        # plus a fully mirrored control request: send one through a mirroring proxy to compare.
        control = self.proxy(primary.port, mirror.port)
        self.assertStatus(h.http_request(control, path="/control"), 200)
        h.poll_until(lambda: mirror.counters()["requests_total"] - before >= 1, timeout=10,
                     what="the control request's mirror")
        self.assertEqual(mirror.counters()["requests_total"] - before, 1)


if __name__ == "__main__":
    import unittest
    unittest.main()
