#!/usr/bin/env python3
"""Hot swap under load: wrk drives keep-alive traffic through pilotfish while the control plane
pushes well over 100 route (weight) and endpoint updates over ADS. Not one request may fail,
not one connection may be reset, and long-lived keep-alive connections on the listener (which
the updates never touch) must stay open throughout."""

import os
import re
import shutil
import subprocess
import threading
import time
import unittest

import harness as h
from test_xds import XDS_BIN, XdsCase, assignment, route_config

PUSHES = 110


def run_wrk(port, seconds, connections=16):
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}/load"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 30)
    text = out.stdout.decode()
    m = re.search(r"(\d+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {"requests": int(m.group(1)) if m else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(int(x) for x in sock.groups()) if sock else 0,
            "text": text}


class KeepAliveProbe(threading.Thread):
    """One keep-alive connection sending requests back to back until stopped; records every
    failure (status, close, `connection: close`)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop_flag = threading.Event()
        self.requests = 0
        self.failures = []

    def run(self):
        try:
            with h.RawConn(self.port) as conn:
                while not self.stop_flag.is_set():
                    conn.send(h.build_request("GET", "/probe"))
                    r = conn.read_response()
                    self.requests += 1
                    if r.status != 200:
                        self.failures.append(f"status {r.status}")
                    if (r.header("connection") or "").lower() == "close":
                        self.failures.append("connection: close")
                        return
                    time.sleep(0.005)
        except Exception as e:  # noqa: BLE001 - any error is a failure to report
            self.failures.append(f"{type(e).__name__}: {e}")


@unittest.skipUnless(shutil.which("wrk"), "wrk is not installed")
class HotSwapUnderLoadTest(XdsCase):
    DELTA = True  # Istio's default

    def test_pushes_under_load_lose_nothing(self):
        a, b, c = self.start_echo("a"), self.start_echo("b"), self.start_echo("c")
        self.start_synced_proxy([a, b], weights=[50, 50])
        probes = [KeepAliveProbe(self.port) for _ in range(4)]
        for p in probes:
            p.start()
        results = []
        pushing = threading.Event()
        pushing.set()

        def load():
            while pushing.is_set():
                results.append(run_wrk(self.port, 2))
        loader = threading.Thread(target=load, daemon=True)
        loader.start()

        for i in range(PUSHES):
            mark = self.cp.mark()
            if i % 2 == 0:
                w = 10 + (i * 7) % 80
                self.push("rds", [route_config("r", [("c0", w), ("c1", 100 - w)])])
                self.cp.wait_for(r"ACK type=\S*RouteConfiguration", 10, since=mark)
            else:
                extra = [c.port] if i % 4 == 1 else []
                self.push("eds", [assignment("c0", [a.port] + extra),
                                  assignment("c1", [b.port] + extra)])
                self.cp.wait_for(r"ACK type=\S*ClusterLoadAssignment", 10, since=mark)
        pushing.clear()
        loader.join(timeout=60)
        for p in probes:
            p.stop_flag.set()
        for p in probes:
            p.join(timeout=10)

        pushes = len(self.cp.lines(r"^PUSH type=\S*(RouteConfiguration|ClusterLoadAssignment)"))
        self.assertGreaterEqual(pushes, 100, "route + endpoint pushes")
        total = sum(r["requests"] for r in results)
        self.assertGreater(total, 0, "wrk ran")
        for r in results:
            self.assertEqual(r["non2xx"], 0, f"failed requests under updates:\n{r['text']}")
            self.assertEqual(r["socket_errors"], 0, f"socket errors under updates:\n{r['text']}")
        for p in probes:
            self.assertEqual(p.failures, [], "a long-lived keep-alive connection was disturbed")
            self.assertGreater(p.requests, 10)
        print(f"\n{pushes} pushes; wrk {total} requests in {len(results)} rounds; "
              f"probes {[p.requests for p in probes]} requests each", flush=True)


if __name__ == "__main__":
    h.main()
