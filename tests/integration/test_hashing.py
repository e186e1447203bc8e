#!/usr/bin/env python3
"""Consistent hashing (Istio's DestinationRule consistentHash): with RING_HASH or MAGLEV and a
route hash_policy, every request of one user reaches the same upstream, across workers, while
users spread over all upstreams."""

import harness as h


class ConsistentHashTest(h.ProxyTestCase):
    def run_policy(self, lb_policy, hash_policy, headers_for, path_for=lambda u, i: f"/p{i}"):
        echoes = [self.start_echo(f"e{i}") for i in range(3)]
        b = h.Bootstrap()
        b.add_cluster("svc", [("127.0.0.1", e.port) for e in echoes], lb_policy=lb_policy)
        r = h.route("svc")
        r["route"]["hash_policy"] = hash_policy
        b.add_http_listener("http", [h.vhost([r])])
        port = self.start_proxy(b, concurrency=2).port()
        seen = {}
        for user in range(30):
            servers = set()
            for i in range(5):  # new connections: they land on either worker
                resp = h.http_request(port, path=path_for(user, i), headers=headers_for(user))
                self.assertStatus(resp, 200)
                servers.add(resp.header("x-echo-server"))
            self.assertEqual(len(servers), 1, f"user {user} reached {servers}")
            seen[user] = servers.pop()
        self.assertEqual(len(set(seen.values())), 3, f"users did not spread: {seen}")

    def test_ring_hash_on_header(self):
        self.run_policy("RING_HASH", [{"header": {"header_name": "x-user"}}],
                        lambda u: {"x-user": f"user-{u}"})

    def test_maglev_on_cookie(self):
        self.run_policy("MAGLEV", [{"cookie": {"name": "session"}}],
                        lambda u: {"cookie": f"theme=dark; session=s{u}"})

    def test_ring_hash_on_query_parameter(self):
        self.run_policy("RING_HASH", [{"query_parameter": {"name": "user"}}], lambda u: {},
                        path_for=lambda u, i: f"/p{i}?x=1&user={u}")


if __name__ == "__main__":
    import unittest
    unittest.main()
