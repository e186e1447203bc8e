#!/usr/bin/env python3
"""A bootstrap STRICT_DNS cluster's first resolution gates readiness, as Envoy initializes
primary clusters before the server is LIVE.

The proxy runs in a private network namespace whose resolv.conf (`ip netns exec` bind-mounts
/etc/netns/NAME/resolv.conf over /etc/resolv.conf) points at a small DNS server on the
namespace's 127.0.0.1:53 that answers only after a delay. While that first answer is pending,
/ready must not say LIVE; once it is LIVE, the first request reaches the upstream (before the
gate, it got 503 "no healthy upstream"). A failed resolution (NXDOMAIN) also ends the wait.
Needs root and `ip netns`."""

import json
import os
import sys
import time
import unittest

import harness as h

ECHO_PORT = 18080  # inside the private namespace: nothing else can hold it
DNS_DELAY_S = 2.5
GOOD_NAME = "slow.pilotfish.test"  # answered with 127.0.0.1 after DNS_DELAY_S
BAD_NAME = "missing.pilotfish.test"  # answered NXDOMAIN after DNS_DELAY_S

# A UDP DNS responder: A queries for GOOD_NAME get 127.0.0.1, everything else NXDOMAIN; each
# answer is sent DNS_DELAY_S after its query, from a thread so queries do not queue.
DNS_SERVER = r"""
import socket, struct, sys, threading, time
good, delay = sys.argv[1].encode(), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("dns ready", flush=True)

def name_end(q):
    i = 12
    while q[i] != 0:
        i += 1 + q[i]
    return i + 1

def answer(q, peer):
    end = name_end(q)
    labels, i = [], 12
    while q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]])
        i += 1 + q[i]
    qname = b".".join(labels).lower()
    qtype = struct.unpack("!H", q[end:end + 2])[0]
    question = q[12:end + 4]
    print("query", qname.decode(), qtype, flush=True)
    time.sleep(delay)
    if qname == good:
        ans = b""
        if qtype == 1:
            ans = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        head = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8180, 1,
                           1 if ans else 0, 0, 0)
    else:
        ans = b""
        head = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8183, 1, 0, 0, 0)
    s.sendto(head + question + ans, peer)
    print("answered", qname.decode(), qtype, flush=True)

while True:
    q, peer = s.recvfrom(4096)
    if len(q) > 12:
        threading.Thread(target=answer, args=(q, peer), daemon=True).start()
"""


class DnsReadinessTest(h.NetnsTestCase):
    ns_prefix = "pf-dns"

    def setUp(self):
        super().setUp()
        os.makedirs(self.etc, exist_ok=True)  # removed with the namespace
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:10 attempts:1\n")

    def get(self, url):
        """(status or 0 when there was no reply, curl's output)."""
        rc, out = self.curl(url)
        lines = out.splitlines()
        return (int(lines[0].split()[1]) if rc == 0 and lines else 0), out

    def start_dns(self):
        dns, dns_log = self.spawn("dns", [sys.executable, "-c", DNS_SERVER, GOOD_NAME,
                                          str(DNS_DELAY_S)])
        h.poll_until(lambda: "dns ready" in self.log_of(dns_log), what="DNS server up")
        return dns_log

    def start_proxy(self, hostname):
        boot = h.Bootstrap()
        boot.add_cluster("dns", [(hostname, ECHO_PORT)], type="STRICT_DNS",
                         dns_lookup_family="V4_ONLY")
        boot.add_http_listener("http", [h.vhost([h.route("dns")])])
        cfg = boot.render({"http": 10000}, 15000)
        path = os.path.join(self.tmp, "bootstrap.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        proxy, proxy_log = self.spawn("pilotfish", [h.PILOTFISH_BIN, "-c", path,
                                                    "--concurrency", "2", "-l", "info"])
        return proxy, proxy_log

    def ready_states_until_live(self, proxy, proxy_log, dns_log):
        """Polls /ready from the first time the admin port answers until it says 200; returns
        the statuses seen and whether the DNS server had answered when 200 first came."""
        seen = []

        def live():
            self.assertIsNone(proxy.poll(), "pilotfish exited:\n" + self.log_of(proxy_log))
            status, _ = self.get("http://127.0.0.1:15000/ready")
            if status:
                seen.append(status)
            return status == 200

        h.poll_until(live, timeout=30, what="pilotfish LIVE inside the namespace")
        return seen, "answered" in self.log_of(dns_log)

    def test_ready_waits_for_the_first_resolution_then_traffic_flows(self):
        self.spawn("echo", [h.ECHO_BIN, "--port", str(ECHO_PORT), "--name", "resolved"])
        dns_log = self.start_dns()
        proxy, proxy_log = self.start_proxy(GOOD_NAME)
        seen, answered = self.ready_states_until_live(proxy, proxy_log, dns_log)
        logs = self.log_of(proxy_log) + "\n--- dns\n" + self.log_of(dns_log)
        self.assertIn(f"query {GOOD_NAME} 1", self.log_of(dns_log), logs)
        # The admin port answers at once; /ready said 503 while the answer was pending.
        self.assertIn(503, seen, logs)
        self.assertTrue(answered, f"LIVE before the DNS answer (seen {seen}):\n{logs}")
        status, out = self.get("http://127.0.0.1:10000/first")
        self.assertEqual(status, 200, out + "\n" + logs)
        body = json.loads(out[out.index("\n\n") + 2:])  # text mode folds CRLF
        self.assertEqual(body["server"], "resolved")
        self.assertEqual(body["path"], "/first")

    def test_a_failed_resolution_also_ends_the_wait(self):
        dns_log = self.start_dns()
        proxy, proxy_log = self.start_proxy(BAD_NAME)
        started = time.monotonic()
        seen, answered = self.ready_states_until_live(proxy, proxy_log, dns_log)
        logs = self.log_of(proxy_log) + "\n--- dns\n" + self.log_of(dns_log)
        self.assertIn(503, seen, logs)
        self.assertTrue(answered, logs)
        self.assertLess(time.monotonic() - started, 20, logs)  # not stuck behind the failure
        status, out = self.get("http://127.0.0.1:10000/")
        self.assertEqual(status, 503, out)
        self.assertTrue(out.endswith("no healthy upstream"), out)


if __name__ == "__main__":
    unittest.main()
