#!/usr/bin/env python3
"""Stats memory benchmark: what 1,000 clusters cost in RSS, and how much of that is their stats.

pilotfish is started three times on a static bootstrap with one HTTP listener (routing to the
echo server) and N extra STATIC clusters of one endpoint each:

  base      N = 0, stats on (the default)
  stats     N clusters, stats on
  nostats   N clusters, `stats_config.stats_matcher: { reject_all: true }`

Each run sends a few requests, scrapes /stats/prometheus once (as Prometheus would; it builds the
tag-extracted names) and then reads VmRSS. Reported: (stats - base) per 1,000 clusters (all a
cluster costs), (stats - nostats) per 1,000 clusters (the stats' part), and the stats bytes per
cluster, with Envoy's figure for comparison (its docs put a cluster at about 40 KB, most of it
stats).

Usage: python3 bench/stats/rss.py [--clusters 1000] [--concurrency 2] [--json FILE]
       [--pilotfish PATH] [--echo-server PATH]
"""

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

import harness as h  # noqa: E402



def measure(tmp, echo_port, clusters, reject_stats, concurrency):
    b = h.Bootstrap()
    b.add_cluster("echo", [("127.0.0.1", echo_port)])
    for i in range(clusters):
        # Nobody dials these: a cluster's memory is its config, host set and stats.
        b.add_cluster(f"outbound|9080||svc{i:04d}.bench.svc.cluster.local",
                      [("127.0.0.1", 20000 + i % 40000)])
    b.add_http_listener("http", [h.vhost([h.route("echo")])])
    if reject_stats:
        b.extra["stats_config"] = {"stats_matcher": {"reject_all": True}}
    label = f"{clusters}-{'nostats' if reject_stats else 'stats'}"
    proxy = h.Proxy(b, os.path.join(tmp, label), concurrency=concurrency).start()
    try:
        for _ in range(20):
            r = h.http_request(proxy.port("http"))
            assert r.status == 200, r
        url = f"http://127.0.0.1:{proxy.admin_port}/stats/prometheus"
        with urllib.request.urlopen(url, timeout=30) as resp:
            scraped = len(resp.read())
        time.sleep(0.5)
        return proxy.rss_bytes(), scraped
    finally:
        proxy.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--pilotfish", default=os.environ.get("PILOTFISH_BIN") or
                    os.path.join(SOURCE, "build", "bootstrap", "pilotfish"))
    ap.add_argument("--echo-server", default=os.environ.get("PF_ECHO_SERVER") or
                    os.path.join(SOURCE, "build", "tools", "pf_echo_server"))
    ap.add_argument("--json")
    args = ap.parse_args()
    h.PILOTFISH_BIN, h.ECHO_BIN = os.path.abspath(args.pilotfish), os.path.abspath(args.echo_server)
    n = args.clusters

    with tempfile.TemporaryDirectory(prefix="pf-stats-bench-") as tmp:
        for d in ("0-stats", f"{n}-stats", f"{n}-nostats"):
            os.makedirs(os.path.join(tmp, d))
        echo = h.EchoServer("bench", tmp).start()
        try:
            base, base_scrape = measure(tmp, echo.port, 0, False, args.concurrency)
            with_stats, scrape = measure(tmp, echo.port, n, False, args.concurrency)
            without, nostats_scrape = measure(tmp, echo.port, n, True, args.concurrency)
        finally:
            echo.kill()

    per_k_all = (with_stats - base) * 1000 / n
    per_k_stats = (with_stats - without) * 1000 / n
    result = {
        "clusters": n, "workers": args.concurrency,
        "rss_base_bytes": base, "rss_stats_bytes": with_stats, "rss_nostats_bytes": without,
        "prometheus_bytes": {"base": base_scrape, "stats": scrape, "nostats": nostats_scrape},
        "rss_per_1000_clusters_bytes": per_k_all,
        "stats_rss_per_1000_clusters_bytes": per_k_stats,
        "stats_bytes_per_cluster": per_k_stats / 1000,
    }
    print(f"stats memory: {n} STATIC clusters of 1 endpoint, {args.concurrency} workers, "
          "after traffic and one /stats/prometheus scrape")
    print(f"  RSS base (0 clusters)     {base / 2**20:7.1f} MiB")
    print(f"  RSS {n} clusters, stats   {with_stats / 2**20:7.1f} MiB  "
          f"(/stats/prometheus {scrape / 1024:.0f} KiB)")
    print(f"  RSS {n} clusters, no stats {without / 2**20:6.1f} MiB")
    print(f"  per 1,000 clusters: {per_k_all / 2**20:.2f} MiB in all, "
          f"{per_k_stats / 2**20:.2f} MiB of it stats "
          f"({per_k_stats / 1000 / 1024:.2f} KiB of stats per cluster; Envoy: ~40 KB a cluster)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
