#!/usr/bin/env python3
"""xDS scale benchmark: how fast a large CDS + EDS + RDS push reaches every worker, and what it
costs in memory.

pilotfish starts against tools/xds_server with a one-cluster config (ready), then the control
plane pushes N clusters (EDS), N ClusterLoadAssignments of E endpoints each and one route
configuration with N routes. From pilotfish's own log ("update serving on every worker ... after
it arrived (monotonic A -> B)") the script reports each update's time from arrival to every
worker serving it, and the end-to-end time from the first CDS arrival to the last update
serving. RSS is read before and after; the difference per cluster (endpoints included) is
compared with Envoy's published figure of about 40 KB per cluster. A final request through the
last route proves the config is served.

Usage: python3 bench/xds/run.py [--clusters 1000] [--endpoints-per-cluster 10] [--concurrency 2]
       [--pilotfish PATH] [--xds-server PATH] [--echo-server PATH] [--json FILE]
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

import harness as h  # noqa: E402
from test_xds import ADS, assignment, eds_cluster, listener, route_config  # noqa: E402
from xds_server import XdsServer  # noqa: E402

ENVOY_BYTES_PER_CLUSTER = 40 * 1024  # Envoy docs: "about 40 KB per cluster" (stats included)



def applied_lines(log_path, since):
    with open(log_path, "rb") as f:
        f.seek(since)
        text = f.read().decode("utf-8", "replace")
    pat = re.compile(r"xds: (\w+) update serving on every worker ([\d.]+) ms after it arrived "
                     r"\(monotonic ([\d.]+) -> ([\d.]+)\)")
    return [(m.group(1), float(m.group(2)), float(m.group(3)), float(m.group(4)))
            for m in pat.finditer(text)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--endpoints-per-cluster", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--pilotfish", default=os.environ.get("PILOTFISH_BIN") or
                    os.path.join(SOURCE, "build", "bootstrap", "pilotfish"))
    ap.add_argument("--xds-server", default=os.environ.get("PF_XDS_SERVER") or
                    os.path.join(SOURCE, "build", "tools", "pf_xds_server"))
    ap.add_argument("--echo-server", default=os.environ.get("PF_ECHO_SERVER") or
                    os.path.join(SOURCE, "build", "tools", "pf_echo_server"))
    ap.add_argument("--json")
    args = ap.parse_args()
    h.PILOTFISH_BIN, h.ECHO_BIN = os.path.abspath(args.pilotfish), os.path.abspath(args.echo_server)
    args.xds_server = os.path.abspath(args.xds_server)

    with tempfile.TemporaryDirectory(prefix="pf-xds-bench-") as tmp:
        echo = h.EchoServer("bench", tmp).start()
        cp = XdsServer(args.xds_server, os.path.join(tmp, "xds"))
        port = h.free_port()
        cp.write("cds.yaml", [eds_cluster("c0")])
        cp.write("eds.yaml", [assignment("c0", [echo.port])])
        cp.write("lds.yaml", [listener("http", port, "r")])
        cp.write("rds.yaml", [route_config("r", cluster="c0")])
        cp.start()
        b = h.Bootstrap()
        b.add_cluster("xds_cluster", [("127.0.0.1", cp.port)])
        b.extra["node"] = {"id": "bench", "cluster": "bench"}
        b.extra["dynamic_resources"] = {
            "ads_config": {"api_type": "DELTA_GRPC", "transport_api_version": "V3",
                           "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]},
            "lds_config": ADS, "cds_config": ADS}
        proxy = h.Proxy(b, tmp, concurrency=args.concurrency).start()
        try:
            time.sleep(0.5)
            rss_before = proxy.rss_bytes()
            n, e = args.clusters, args.endpoints_per_cluster
            names = [f"c{i:05d}" for i in range(n)]
            clusters = [eds_cluster(c) for c in names]
            # Endpoints: the last cluster's first endpoint is the real echo server; the others
            # are addresses nobody dials (the LB is never asked for them).
            cla = [assignment(c, [20000 + (i * e + j) % 40000 for j in range(e)])
                   for i, c in enumerate(names)]
            cla[-1] = assignment(names[-1], [echo.port])
            routes = [{"match": {"prefix": f"/{c}"}, "route": {"cluster": c}} for c in names]
            mark = os.path.getsize(proxy.log_path)
            # One reload of the control plane: the push is CDS, EDS (once the proxy subscribes
            # to the new names) and RDS, not three pushes spread over the script's file writes.
            cp.write_many({"cds.yaml": clusters, "eds.yaml": cla,
                           "rds.yaml": [route_config("r", cluster="c0", extra_routes=routes)]})
            cp.wait_for(r"ACK type=\S*RouteConfiguration version=2", 60)
            cp.wait_for(r"ACK type=\S*ClusterLoadAssignment version=2", 60)
            deadline = time.monotonic() + 60
            while True:
                lines = applied_lines(proxy.log_path, mark)
                kinds = {k for k, *_ in lines}
                if {"snapshot", "endpoint"} <= kinds and len(lines) >= 3:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"updates not applied: {lines}\n{proxy.log_tail()}")
                time.sleep(0.05)
            time.sleep(0.5)
            lines = applied_lines(proxy.log_path, mark)
            r = h.http_request(port, path=f"/{names[-1]}")
            assert r.status == 200 and r.header("x-echo-server") == "bench", r
            rss_after = proxy.rss_bytes()
        finally:
            proxy.kill()
            cp.stop()
            echo.kill()

    first_arrival = min(a for _, _, a, _ in lines)
    last_serving = max(b for _, _, _, b in lines)
    per_cluster = (rss_after - rss_before) / n
    result = {
        "clusters": n, "endpoints": n * e, "routes": n, "workers": args.concurrency,
        "updates": [{"kind": k, "ms": ms} for k, ms, _, _ in lines],
        "end_to_end_ms": (last_serving - first_arrival) * 1000,
        "rss_before_bytes": rss_before, "rss_after_bytes": rss_after,
        "bytes_per_cluster_incl_endpoints": per_cluster,
        "ratio_vs_envoy_40KB_per_cluster": per_cluster / ENVOY_BYTES_PER_CLUSTER,
    }
    print(f"{n} clusters, {n * e} endpoints, {n} routes, {args.concurrency} workers")
    for k, ms, _, _ in lines:
        print(f"  {k:9s} update: serving on every worker {ms:8.2f} ms after it arrived")
    print(f"  first CDS arrival -> last update serving: {result['end_to_end_ms']:.1f} ms "
          f"(target < 100 ms)")
    print(f"  RSS {rss_before / 2**20:.1f} MiB -> {rss_after / 2**20:.1f} MiB: "
          f"{per_cluster / 1024:.2f} KiB per cluster incl. {e} endpoints "
          f"(target < 5 KiB; Envoy ~40 KB: ratio {result['ratio_vs_envoy_40KB_per_cluster']:.3f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
