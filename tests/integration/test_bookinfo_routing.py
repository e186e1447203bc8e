#!/usr/bin/env python3
"""Istio's bookinfo traffic shifting and header routing, from the VirtualServices published in
the shared testdata, translated the way istiod does (SPEC.md section 3): one cluster per subset
named outbound|9080|<subset>|reviews.default.svc.cluster.local, weighted_clusters for weighted
destinations (zero weights dropped, no total_weight), a header matcher for `end-user: jason`.
Observed splits must be within 3 points of the weights over 2,000 requests."""

import glob
import os
import re

import harness as h

FQDN = "reviews.default.svc.cluster.local"
SHARED = os.environ.get("PF_SHARED_DIR") or os.path.join(os.path.dirname(__file__), "..", "..",
                                                          "..", "shared")


def testdata(name):
    paths = glob.glob(os.path.join(SHARED, "testdata", "istio__istio", "**", name), recursive=True)
    if not paths:
        raise FileNotFoundError(name)
    with open(paths[0]) as f:
        return f.read()


def destinations(vs_text):
    """[(subset, weight or None)] of the VirtualService's last http route (these files are flat
    enough for a regex; the stdlib has no YAML parser)."""
    route = vs_text.split("route:")[-1]
    out = []
    for m in re.finditer(r"subset:\s*(\w+)(?:\s*\n\s*weight:\s*(\d+))?", route):
        out.append((m.group(1), int(m.group(2)) if m.group(2) else None))
    return out


def cluster_name(subset):
    return f"outbound|9080|{subset}|{FQDN}"


def istio_route(dests, match=None):
    """The Envoy route istiod generates for one VirtualService http rule."""
    r = {"match": match or {"prefix": "/"}, "route": {"timeout": "0s"}}
    kept = [(s, w) for s, w in dests if w is None or w > 0]
    if len(kept) == 1:
        r["route"]["cluster"] = cluster_name(kept[0][0])
    else:
        r["route"]["weighted_clusters"] = {"clusters": [
            {"name": cluster_name(s), "weight": w} for s, w in kept]}
    return r


class BookinfoRoutingTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.subsets = {s: self.start_echo(f"reviews-{s}") for s in ("v1", "v2", "v3")}

    def proxy(self, routes):
        b = h.Bootstrap()
        for s, e in self.subsets.items():
            b.add_cluster(cluster_name(s), [("127.0.0.1", e.port)])
        vhost = {"name": f"{FQDN}:9080", "routes": routes,
                 "domains": ["reviews", "reviews:9080", FQDN, f"{FQDN}:9080"]}
        b.add_http_listener("0.0.0.0_9080", [vhost])
        return self.start_proxy(b, concurrency=1).port()

    def split(self, port, n, headers=()):
        counts = {}
        with h.RawConn(port) as c:
            for i in range(n):
                c.send(h.build_request("GET", f"/reviews/{i}", headers=headers,
                                       host="reviews:9080"))
                r = c.read_response()
                self.assertStatus(r, 200)
                server = r.header("x-echo-server")
                counts[server] = counts.get(server, 0) + 1
        return counts

    def check_weights(self, file):
        dests = destinations(testdata(file))
        self.assertTrue(all(w is not None for _, w in dests), dests)
        port = self.proxy([istio_route(dests)])
        n = 2000
        counts = self.split(port, n)
        total = sum(w for _, w in dests)
        print(f"\n{file}: observed over {n} requests: {counts}")
        for subset, weight in dests:
            observed = 100.0 * counts.get(f"reviews-{subset}", 0) / n
            self.assertAlmostEqual(observed, 100.0 * weight / total, delta=3.0,
                                   msg=f"{file}: {subset} got {observed:.1f}% ({counts})")

    def test_reviews_80_20(self):
        self.check_weights("virtual-service-reviews-80-20.yaml")

    def test_reviews_90_10(self):
        self.check_weights("virtual-service-reviews-90-10.yaml")

    def test_reviews_50_50_v3(self):
        self.check_weights("virtual-service-reviews-50-v3.yaml")

    def test_jason_goes_to_v2_everyone_else_to_v1(self):
        text = testdata("virtual-service-reviews-test-v2.yaml")
        self.assertIn("exact: jason", text)
        jason = {"prefix": "/", "headers": [
            {"name": "end-user", "string_match": {"exact": "jason"}}]}
        port = self.proxy([istio_route([("v2", None)], match=jason), istio_route([("v1", None)])])
        self.assertEqual(self.split(port, 50, headers=[("end-user", "jason")]), {"reviews-v2": 50})
        self.assertEqual(self.split(port, 50, headers=[("end-user", "jasonx")]),
                         {"reviews-v1": 50})
        self.assertEqual(self.split(port, 50), {"reviews-v1": 50})


if __name__ == "__main__":
    import unittest
    unittest.main()
