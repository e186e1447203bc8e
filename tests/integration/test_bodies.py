#!/usr/bin/env python3
"""Request and response bodies through the proxy: 20 MiB uploads and downloads with
content-length and chunked framing, byte-exact (SHA-256)."""

import hashlib
import http.client
import json
import os

import harness as h

MIB = 1024 * 1024
SIZE = 20 * MIB


def random_blocks(total, sizes, hasher):
    """Yields `total` random bytes in blocks cycling through `sizes`, hashing as it goes."""
    left, i = total, 0
    while left > 0:
        n = min(left, sizes[i % len(sizes)])
        block = os.urandom(n)
        hasher.update(block)
        left -= n
        i += 1
        yield block


class BodiesTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.echo = self.start_echo("bodies")
        self.proxy = self.start_proxy(h.simple_bootstrap(self.echo.port))
        self.port = self.proxy.port()

    def post_upload(self, body_iter, headers, encode_chunked):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.addCleanup(conn.close)
        conn.request("POST", "/upload", body=body_iter, headers=headers,
                     encode_chunked=encode_chunked)
        r = conn.getresponse()
        data = r.read()
        self.assertEqual(r.status, 200, f"{r.status} {data[:300]!r}{self.diag()}")
        return json.loads(data)

    def test_upload_20mib_content_length(self):
        hasher = hashlib.sha256()
        body = random_blocks(SIZE, [MIB, 65536, 1], hasher)
        j = self.post_upload(body, {"Content-Length": str(SIZE)}, encode_chunked=False)
        self.assertEqual(j, {"bytes": SIZE, "sha256": hasher.hexdigest()})

    def test_upload_20mib_chunked(self):
        hasher = hashlib.sha256()
        # Odd chunk sizes so chunk boundaries never line up with the proxy's reads.
        body = random_blocks(SIZE, [MIB + 3, 1, 4093, 65537, 17], hasher)
        j = self.post_upload(body, {"Transfer-Encoding": "chunked"}, encode_chunked=True)
        self.assertEqual(j, {"bytes": SIZE, "sha256": hasher.hexdigest()})

    def download(self, path):
        hasher = hashlib.sha256()
        with h.RawConn(self.port, timeout=60) as c:
            c.send(h.build_request("GET", path))
            r = c.read_response(sink=hasher.update)
        self.assertStatus(r, 200)
        return r, hasher.hexdigest()

    def test_download_20mib_content_length(self):
        r, digest = self.download(f"/bytes/{SIZE}")
        self.assertEqual(r.framing, "content-length", repr(r))
        self.assertEqual(r.header("content-length"), str(SIZE))
        self.assertEqual(r.body_len, SIZE)
        self.assertEqual(digest, h.pattern_sha256(SIZE))

    def test_download_20mib_chunked(self):
        r, digest = self.download(f"/bytes/{SIZE}?chunked=1")
        # No content-length from the upstream: an HTTP/1.1 client gets chunked framing.
        self.assertEqual(r.framing, "chunked", repr(r))
        self.assertEqual(r.body_len, SIZE)
        self.assertEqual(digest, h.pattern_sha256(SIZE))

    def test_echo_roundtrip_chunked_odd_sizes(self):
        pieces = [os.urandom(n) for n in (1, 2, 3, 4095, 4096, 4097, 65535, 65536, 65537, 300000)]
        raw = bytearray(h.build_request("POST", "/echo", [("Transfer-Encoding", "chunked"),
                                                          ("Content-Type", "application/x-test")]))
        for p in pieces:
            raw += f"{len(p):x}\r\n".encode() + p + b"\r\n"
        raw += b"0\r\n\r\n"
        with h.RawConn(self.port, timeout=30) as c:
            c.send(bytes(raw))
            r = c.read_response()
        self.assertStatus(r, 200)
        self.assertEqual(r.header("content-type"), "application/x-test")
        self.assertEqual(r.body, b"".join(pieces))

    def test_echo_roundtrip_content_length(self):
        body = os.urandom(3 * MIB + 1)
        with h.RawConn(self.port, timeout=30) as c:
            c.send(h.build_request("POST", "/echo", body=body))
            r = c.read_response()
        self.assertStatus(r, 200)
        self.assertEqual(r.header("content-length"), str(len(body)))
        self.assertEqual(h.sha256_hex(r.body), h.sha256_hex(body))

    def test_empty_bodies(self):
        r = h.raw_request(self.port, h.build_request("POST", "/empty",
                                                       [("Content-Length", "0")]))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["body_bytes"], 0)
        r = h.raw_request(self.port, h.build_request("POST", "/empty-chunked",
                                                       [("Transfer-Encoding", "chunked")])
                          + b"0\r\n\r\n")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["body_bytes"], 0)
        r = h.raw_request(self.port, h.build_request("GET", "/bytes/0"))
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"")


if __name__ == "__main__":
    h.main()
