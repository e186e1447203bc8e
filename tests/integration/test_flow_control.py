#!/usr/bin/env python3
"""Flow control: a slow reader on either side must push back on the fast side instead of making
the proxy buffer the whole body. Checked through the proxy's RSS while a 64 MiB body is stuck
behind a slow peer, and the transfer must still complete byte-exact.

The slow peers pace their reads with short waits: that is the behaviour under test (a slow
client or upstream), not a wait for some condition."""

import hashlib
import json
import os
import socket
import threading
import time

import harness as h

MIB = 1024 * 1024
SIZE = 64 * MIB
SLOW_SECONDS = 3.0        # the fast side can move 64 MiB over loopback well within this
SLOW_READ = 16 * 1024     # bytes per paced read
SLOW_PAUSE = 0.01         # => about 1.6 MB/s while slow
MAX_GROWTH = 32 * MIB     # a proxy that buffers the body grows by ~60 MiB


class RssSampler(threading.Thread):
    def __init__(self, proxy, interval=0.02):
        super().__init__(daemon=True)
        self.proxy = proxy
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                rss = self.proxy.rss_bytes()
            except (OSError, AssertionError):
                return
            self.peak = max(self.peak, rss)
            self.samples += 1
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)


class Pacer:
    """before_recv hook: sleeps between reads until `until`, counting what was read while slow."""

    def __init__(self, seconds):
        self.until = time.monotonic() + seconds
        self.pause = threading.Event()

    def slow(self):
        return time.monotonic() < self.until

    def __call__(self):
        if self.slow():
            self.pause.wait(SLOW_PAUSE)


class FlowControlTest(h.ProxyTestCase):
    def assertBounded(self, growth, bound, msg):
        # Under ASan, freed buffers sit in the sanitizer's quarantine (up to 256 MiB), so RSS no
        # longer reflects what the proxy buffers; the transfer and its checksum are still checked.
        if os.environ.get("PF_SANITIZER"):
            return
        self.assertLess(growth, bound, msg)

    def warm_baseline(self, port, proxy):
        # One small request first, so the proxy's pools and buffers exist before the baseline.
        self.assertStatus(h.raw_request(port, h.build_request("GET", "/bytes/100000")), 200)
        return proxy.rss_bytes()

    def test_slow_client_download_64mib(self):
        echo = self.start_echo("fc-down")
        proxy = self.start_proxy(h.simple_bootstrap(echo.port))
        port = proxy.port()
        baseline = self.warm_baseline(port, proxy)

        sampler = RssSampler(proxy)
        hasher = hashlib.sha256()
        slow_bytes = [0]
        pacer = Pacer(SLOW_SECONDS)

        def sink(piece):
            hasher.update(piece)
            if pacer.slow():
                slow_bytes[0] += len(piece)

        with h.RawConn(port, timeout=120, recv_size=SLOW_READ, rcvbuf=64 * 1024,
                       before_recv=pacer) as c:
            c.send(h.build_request("GET", f"/bytes/{SIZE}"))
            sampler.start()
            try:
                r = c.read_response(sink=sink)
            finally:
                sampler.stop()

        self.assertStatus(r, 200)
        self.assertEqual(r.body_len, SIZE)
        self.assertEqual(hasher.hexdigest(), h.pattern_sha256(SIZE), "download corrupted")
        self.assertLess(slow_bytes[0], SIZE // 4, "client was not slow: the test proves nothing")
        self.assertGreater(sampler.samples, 10)
        growth = sampler.peak - baseline
        self.assertBounded(growth, MAX_GROWTH,
                        f"proxy RSS grew by {growth / MIB:.1f} MiB (baseline "
                        f"{baseline / MIB:.1f} MiB, peak {sampler.peak / MIB:.1f} MiB) while a "
                        f"slow client read {SIZE // MIB} MiB: no backpressure to the upstream"
                        f"{self.diag()}")

    def test_slow_upstream_upload_64mib(self):
        # A Python upstream that reads the request body slowly for SLOW_SECONDS.
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lsock.close)
        self.addCleanup(lambda: lsock.shutdown(socket.SHUT_RDWR))  # wakes the accept() loop
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(16)
        up_port = lsock.getsockname()[1]
        result = {}

        def handle(sock):
            try:
                with h.RawConn(sock=sock, timeout=120, recv_size=SLOW_READ) as conn:
                    hasher = hashlib.sha256()
                    total = [0]

                    def take(piece):
                        hasher.update(piece)
                        total[0] += len(piece)

                    try:
                        head = conn.read_until(b"\r\n\r\n")
                    except h.ProtocolError:
                        return  # a connection without a request (e.g. a readiness probe)
                    # Start pacing once the request head is in.
                    conn.buf[:0] = head
                    conn.before_recv = Pacer(SLOW_SECONDS)
                    method, target, headers, _ = conn.read_request(sink=take)
                    body = json.dumps({"bytes": total[0], "sha256": hasher.hexdigest()}).encode()
                    conn.send(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                              b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                    result["method"], result["target"] = method, target
                    conn.wait_closed(timeout=2)
            except Exception as e:  # noqa: BLE001 - reported by the test
                result["error"] = repr(e)

        def upstream():
            while True:
                try:
                    sock, _ = lsock.accept()
                except OSError:
                    return  # closed by the cleanup
                threading.Thread(target=handle, args=(sock,), daemon=True).start()

        up = threading.Thread(target=upstream, daemon=True)
        up.start()

        proxy = self.start_proxy(h.simple_bootstrap(up_port))
        port = proxy.port()
        baseline = proxy.rss_bytes()
        sampler = RssSampler(proxy)
        sampler.start()
        client_hash = hashlib.sha256()
        send_error = []

        with h.RawConn(port, timeout=120) as c:
            def send_body():
                try:
                    c.send(h.build_request("POST", "/slow-upload",
                                           [("Content-Length", str(SIZE))]))
                    block = os.urandom(MIB)
                    for i in range(SIZE // MIB):
                        piece = bytes([i]) + block[1:]
                        client_hash.update(piece)
                        c.send(piece)
                except Exception as e:  # noqa: BLE001 - reported below
                    send_error.append(repr(e))

            sender = threading.Thread(target=send_body, daemon=True)
            sender.start()
            try:
                r = c.read_response(timeout=120)
            finally:
                sampler.stop()
            sender.join(timeout=30)

        self.assertEqual(send_error, [])
        self.assertNotIn("error", result, result)
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"bytes": SIZE, "sha256": client_hash.hexdigest()})
        growth = sampler.peak - baseline
        self.assertBounded(growth, MAX_GROWTH,
                        f"proxy RSS grew by {growth / MIB:.1f} MiB (baseline "
                        f"{baseline / MIB:.1f} MiB, peak {sampler.peak / MIB:.1f} MiB) while a "
                        f"slow upstream read a {SIZE // MIB} MiB upload: no backpressure to the "
                        f"client{self.diag()}")


if __name__ == "__main__":
    h.main()
