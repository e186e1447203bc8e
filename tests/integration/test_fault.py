#!/usr/bin/env python3
"""The HTTP fault filter (envoy.filters.http.fault) as Envoy applies it: aborts answer with the
configured status and "fault filter abort" without reaching the upstream, a percentage aborts that
share of independent requests, a delay holds the request (and its body) before forwarding it,
max_active_faults bounds concurrent faults across workers, and per-route overrides (Istio's
VirtualService fault rules in typed_per_filter_config) replace the filter-level settings."""

import os
import socket
import struct
import threading
import time

import harness as h
from harness import route, vhost

FAULT_NAME = "envoy.filters.http.fault"
FAULT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
ABORT_BODY = b"fault filter abort"


def fault_filter(**config):
    return {"name": FAULT_NAME, "typed_config": {"@type": FAULT_TYPE, **config}}


def fault_config(**config):
    return {"@type": FAULT_TYPE, **config}


def abort(status, numerator=100, denominator="HUNDRED"):
    return {"http_status": status,
            "percentage": {"numerator": numerator, "denominator": denominator}}


def delay(fixed, numerator=100, denominator="HUNDRED"):
    return {"fixed_delay": fixed, "percentage": {"numerator": numerator, "denominator": denominator}}


def istio_percentage(value):
    """How istiod translates a VirtualService percentage.value: numerator value*10000 of MILLION."""
    return {"numerator": int(value * 10000), "denominator": "MILLION"}


class FaultTestCase(h.ProxyTestCase):
    def start(self, routes=None, fault=None, concurrency=2, vhost_extra=None):
        """One listener: fault filter (filter-level config `fault`) + router, to one echo."""
        self.echo = self.start_echo("fault")
        vh = vhost(routes if routes is not None else [route("echo")])
        vh.update(vhost_extra or {})
        b = h.Bootstrap()
        b.add_cluster("echo", [("127.0.0.1", self.echo.port)])
        b.add_http_listener("http", [vh],
                            http_filters=[fault_filter(**(fault or {})), h.ROUTER_FILTER])
        self.proxy = self.start_proxy(b, concurrency=concurrency)
        self.port = self.proxy.port()
        return self.port

    def get(self, path="/", headers=(), timeout=h.DEFAULT_TIMEOUT, host="example.com"):
        return h.raw_request(self.port, h.build_request("GET", path, headers=headers, host=host),
                             timeout=timeout)

    def assert_aborted(self, r, status):
        self.assertEqual(r.status, status, f"{r!r}{self.diag()}")
        self.assertEqual(r.body, ABORT_BODY)
        self.assertEqual(r.header("content-type"), "text/plain")

    def statuses_on_keepalive(self, n, path="/", headers=()):
        """n requests on one keep-alive connection; returns the list of statuses."""
        out = []
        with h.RawConn(self.port) as c:
            for _ in range(n):
                c.send(h.build_request("GET", path, headers=headers))
                r = c.read_response()
                out.append(r.status)
                if r.status != 200:
                    self.assertEqual(r.body, ABORT_BODY)
        return out


class AbortTest(FaultTestCase):
    def test_abort_100_percent_never_reaches_upstream(self):
        self.start(fault={"abort": abort(503)})
        for _ in range(10):
            self.assert_aborted(self.get(), 503)
        # Keep-alive survives an abort of a complete request.
        self.assertEqual(self.statuses_on_keepalive(10), [503] * 10)
        # A request with a body is aborted too; the connection then closes (body unread).
        r = h.raw_request(self.port, h.build_request("POST", "/echo", body=b"x" * 1000))
        self.assert_aborted(r, 503)
        self.assertEqual(self.echo.counters()["requests_total"], 0)

    def test_abort_50_percent_over_1000_requests(self):
        self.start(fault={"abort": abort(500, numerator=5000, denominator="TEN_THOUSAND")})
        statuses = []
        for _ in range(4):  # four connections: both workers draw
            statuses += self.statuses_on_keepalive(250)
        aborted = statuses.count(500)
        passed = statuses.count(200)
        self.assertEqual(aborted + passed, 1000, f"unexpected statuses {set(statuses)}")
        self.assertGreaterEqual(aborted, 430, f"{aborted}/1000 aborted")
        self.assertLessEqual(aborted, 570, f"{aborted}/1000 aborted")
        # Exactly the requests that were not aborted reached the upstream.
        self.assertEqual(self.echo.counters()["requests_total"], passed)

    def test_zero_percent_and_unset_percentage_never_abort(self):
        # Envoy: an unset FractionalPercent is 0%.
        self.start(fault={"abort": {"http_status": 503},
                          "delay": {"fixed_delay": "10s"}})
        self.assertEqual(self.statuses_on_keepalive(50), [200] * 50)

    def test_header_controlled_abort_and_delay(self):
        self.start(fault={"abort": {"header_abort": {}, "percentage": {"numerator": 100}},
                          "delay": {"header_delay": {}, "percentage": {"numerator": 100}}})
        self.assertEqual(self.get().status, 200)
        self.assert_aborted(self.get(headers=[("x-envoy-fault-abort-request", "429")]), 429)
        r = self.get(headers=[("x-envoy-fault-abort-request", "429"),
                              ("x-envoy-fault-abort-request-percentage", "0")])
        self.assertEqual(r.status, 200)
        start = time.monotonic()
        r = self.get(headers=[("x-envoy-fault-delay-request", "500")])
        elapsed = time.monotonic() - start
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 5.0)


class DelayTest(FaultTestCase):
    def test_delay_1s_then_upstream_answers(self):
        self.start(fault={"delay": delay("1s")})
        start = time.monotonic()
        r = self.get("/some/path")
        elapsed = time.monotonic() - start
        self.assertEqual(r.status, 200, f"{r!r}{self.diag()}")
        self.assertEqual(r.json()["path"], "/some/path")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5.0)

    def test_delay_holds_the_request_body(self):
        # Larger than the 1 MiB buffer limit: reads pause while the body is held, and resume
        # when the delay ends.
        self.start(fault={"delay": delay("0.5s")})
        body = os.urandom(3 << 20)
        start = time.monotonic()
        r = h.raw_request(self.port, h.build_request("POST", "/echo", body=body))
        self.assertGreaterEqual(time.monotonic() - start, 0.45)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, body)

    def test_delay_then_abort(self):
        self.start(fault={"delay": delay("0.5s"), "abort": abort(502)})
        start = time.monotonic()
        r = self.get()
        self.assertGreaterEqual(time.monotonic() - start, 0.45)
        self.assert_aborted(r, 502)
        self.assertEqual(self.echo.counters()["requests_total"], 0)

    def test_client_gone_during_delay_cancels_the_request(self):
        # Delays from a header so two requests can have different ones; one worker, so a round
        # trip on a second connection proves the first request was read (its delay started).
        self.start(fault={"delay": {"header_delay": {}, "percentage": {"numerator": 100}},
                          "abort": {"header_abort": {}, "percentage": {"numerator": 100}}},
                   concurrency=1)
        c = h.RawConn(self.port)
        c.send(h.build_request("GET", "/gone", headers=[("x-envoy-fault-delay-request", "300")]))
        self.assert_aborted(self.get(headers=[("x-envoy-fault-abort-request", "503")]), 503)
        # Reset (RST), not FIN: pilotfish answers a request whose client only half-closed.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        # Delayed longer: when it completes, the first delay has long expired, so had its timer
        # survived the reset, the upstream would have seen /gone too.
        r = self.get("/kept", headers=[("x-envoy-fault-delay-request", "1000")])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["path"], "/kept")
        self.assertEqual(self.echo.counters()["requests_total"], 1)
        self.assertTrue(self.proxy.alive())

    def test_max_active_faults_counts_across_workers(self):
        self.start(fault={"delay": delay("2s"), "max_active_faults": 1}, concurrency=2)
        durations = {}

        def one(name):
            start = time.monotonic()
            r = self.get(f"/{name}", timeout=10)
            durations[name] = (r.status, time.monotonic() - start)

        threads = [threading.Thread(target=one, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        self.assertEqual(sorted(durations), ["a", "b"], durations)
        self.assertEqual([s for s, _ in durations.values()], [200, 200])
        fast, slow = sorted(d for _, d in durations.values())
        self.assertLess(fast, 1.5, f"both requests were delayed: {durations}")
        self.assertGreaterEqual(slow, 1.9, f"no request was delayed: {durations}")


class PerRouteTest(FaultTestCase):
    def test_istio_bookinfo_ratings_abort_for_jason(self):
        # samples/bookinfo/networking/virtual-service-ratings-test-abort.yaml as istiod emits
        # it: an empty HTTPFault in the HCM; the fault rule on the route matching end-user.
        jason = route("echo", name="ratings-jason")
        jason["match"]["headers"] = [{"name": "end-user", "string_match": {"exact": "jason"}}]
        jason["typed_per_filter_config"] = {FAULT_NAME: fault_config(
            abort={"http_status": 500, "percentage": istio_percentage(100.0)})}
        default = route("echo", name="default")
        self.start(routes=[jason, default])
        for _ in range(5):
            self.assert_aborted(self.get(headers=[("end-user", "jason")]), 500)
            self.assertEqual(self.get(headers=[("end-user", "alice")]).status, 200)
            self.assertEqual(self.get().status, 200)
        self.assertEqual(self.echo.counters()["requests_total"], 10)

    def test_istio_bookinfo_ratings_delay_for_jason(self):
        # virtual-service-ratings-test-delay.yaml, with fixedDelay 1s instead of 7s.
        jason = route("echo", name="ratings-jason")
        jason["match"]["headers"] = [{"name": "end-user", "string_match": {"exact": "jason"}}]
        jason["typed_per_filter_config"] = {FAULT_NAME: fault_config(
            delay={"fixed_delay": "1s", "percentage": istio_percentage(100.0)})}
        self.start(routes=[jason, route("echo", name="default")])
        start = time.monotonic()
        self.assertEqual(self.get().status, 200)
        self.assertLess(time.monotonic() - start, 0.9)
        start = time.monotonic()
        r = self.get(headers=[("end-user", "jason")])
        elapsed = time.monotonic() - start
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5.0)

    def test_route_override_beats_vhost_beats_filter_level(self):
        quiet = route("echo", prefix="/quiet")
        quiet["typed_per_filter_config"] = {FAULT_NAME: fault_config()}  # empty: no fault
        teapot = route("echo", prefix="/teapot")
        teapot["typed_per_filter_config"] = {FAULT_NAME: fault_config(abort=abort(418))}
        self.start(routes=[quiet, teapot, route("echo")], fault={"abort": abort(503)},
                   vhost_extra={"typed_per_filter_config": {
                       FAULT_NAME: fault_config(abort=abort(501))}})
        self.assertEqual(self.get("/quiet").status, 200)
        self.assert_aborted(self.get("/teapot"), 418)
        self.assert_aborted(self.get("/other"), 501)


class FaultConfigTest(h.ProxyTestCase):
    def validate(self, doc):
        path = h.write_config(self.tmpdir, "config.yaml", doc)
        return h.run_pilotfish(["--mode", "validate", "-c", path])

    def bootstrap(self, filter_config=None, route_config=None):
        r = route("echo")
        if route_config is not None:
            r["typed_per_filter_config"] = {FAULT_NAME: route_config}
        b = h.Bootstrap()
        b.add_cluster("echo", [("127.0.0.1", 1)])
        b.add_http_listener("http", [vhost([r])],
                            http_filters=[fault_filter(**(filter_config or {})), h.ROUTER_FILTER])
        return b.render({"http": 1}, 2)

    def test_envoy_fault_injection_example_validates(self):
        path = os.path.join(h.SHARED_DIR, "testdata", "envoyproxy__examples", "fault-injection",
                            "envoy.yaml")
        if not os.path.exists(path):
            self.skipTest(f"shared testdata not found: {path}")
        rc, out = h.run_pilotfish(["--mode", "validate", "-c", path])
        self.assertEqual(rc, 0, out)

    def test_invalid_status_names_the_field(self):
        rc, out = self.validate(self.bootstrap({"abort": {"http_status": 600}}))
        self.assertEqual(rc, 1, out)
        self.assertIn("http_filters[0].typed_config.abort.http_status: must be in [200, 600)", out)
        rc, out = self.validate(self.bootstrap(route_config=fault_config(
            abort={"http_status": 99})))
        self.assertEqual(rc, 1, out)
        self.assertIn('routes[0].typed_per_filter_config["envoy.filters.http.fault"].abort.'
                      'http_status: must be in [200, 600)', out)

    def test_unsupported_parts_are_rejected_naming_the_field(self):
        rc, out = self.validate(self.bootstrap({"abort": {"grpc_status": 14}}))
        self.assertEqual(rc, 1, out)
        self.assertIn("abort.grpc_status: not supported by pilotfish yet", out)
        rc, out = self.validate(self.bootstrap(
            {"response_rate_limit": {"fixed_limit": {"limit_kbps": 10}}}))
        self.assertEqual(rc, 1, out)
        self.assertIn("response_rate_limit: not supported by pilotfish yet", out)

    def test_per_filter_config_of_unknown_filter_is_rejected(self):
        # A per-route config type pilotfish has no per-route use for (it was accepted with a
        # "not applied" warning before fault landed).
        doc = self.bootstrap()
        hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
            "typed_config"]
        hcm["route_config"]["virtual_hosts"][0]["typed_per_filter_config"] = {
            "x.router": {"@type": h.ROUTER_FILTER["typed_config"]["@type"]}}
        rc, out = self.validate(doc)
        self.assertEqual(rc, 1, out)
        self.assertIn('virtual_hosts[0].typed_per_filter_config["x.router"]: filter config type '
                      'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router is not '
                      'supported by pilotfish', out)


if __name__ == "__main__":
    h.main()
