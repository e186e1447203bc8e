#!/usr/bin/env python3
"""The envoyproxy/go-control-plane sample bootstraps that use gRPC xDS (aggregated SotW,
aggregated delta, and one stream per type) load unchanged except for their two ports, connect
to tools/xds_server on loopback, become ready and serve the pushed listener."""

import os

import harness as h
from test_xds import XdsCase, assignment, eds_cluster, listener, route_config

SAMPLES = os.path.join(h.SHARED_DIR, "testdata", "envoyproxy__go-control-plane", "sample")


class SampleProxy(h.Proxy):
    """Runs a bootstrap file as published, with its admin (19000) and xDS (18000) ports moved."""

    def __init__(self, text, workdir, label):
        super().__init__(h.Bootstrap(), workdir, label=label)
        self.text = text

    def start(self, timeout=h.DEFAULT_TIMEOUT, attempts=1, admin_ready=True):
        self.admin_port = h.free_port()
        with open(self.config_path, "w") as f:
            f.write(self.text.replace("port_value: 19000", f"port_value: {self.admin_port}"))
        self._spawn(self.argv())
        return self.wait_ready(timeout)


class GoControlPlaneSamplesTest(XdsCase):
    def check_sample(self, name, service_lines):
        with open(os.path.join(SAMPLES, name)) as f:
            text = f.read()
        echo = self.start_echo("one")
        port = h.free_port()
        self.push("cds", [eds_cluster("c0")])
        self.push("eds", [assignment("c0", [echo.port])])
        self.push("lds", [listener("http", port, "r")])
        self.push("rds", [route_config("r", cluster="c0")])
        self.start_cp()
        text = text.replace("port_value: 18000", f"port_value: {self.cp.port}")
        p = SampleProxy(text, self.tmpdir, label=name.replace(".yaml", ""))
        self._procs.append(p)
        self.addCleanup(self._stop, p)
        p.start()  # admin /ready 200: the first CDS, EDS, LDS and RDS were applied
        r = h.http_request(port, path="/hello")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("x-echo-server"), "one")
        for line in service_lines:
            self.cp.wait_for(line, 5)
        for t in ("Cluster", "ClusterLoadAssignment", "Listener", "RouteConfiguration"):
            self.cp.wait_for(rf"^ACK type=\S*\.{t} version=1 .*node=test-id", 5)
        self.assertEqual(self.cp.lines(r"^NACK"), [])

    def test_bootstrap_ads(self):
        self.check_sample("bootstrap-ads.yaml", [r"CONNECT node=test-id mode=sotw service=ads"])

    def test_bootstrap_delta_ads(self):
        self.check_sample("bootstrap-delta-ads.yaml",
                          [r"CONNECT node=test-id mode=delta service=ads"])

    def test_bootstrap_xds_one_stream_per_type(self):
        self.check_sample("bootstrap-xds.yaml",
                          [rf"CONNECT node=test-id mode=sotw service={s}"
                           for s in ("lds", "cds", "rds", "eds")])


if __name__ == "__main__":
    h.main()
