"""Shared harness for pilotfish's integration tests: starts the real binaries, writes configs, and
speaks raw HTTP/1.1 so tests can see exactly what is on the wire.

Stdlib only. Every process started through ProxyTestCase is killed in a cleanup, every wait has a
deadline, and ports come from the kernel (port 0) or from free_port() with a retry on conflicts.
"""

import atexit
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("PF_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
SHARED_DIR = os.environ.get("PF_SHARED_DIR") or os.path.join(os.path.dirname(SOURCE_DIR), "shared")
PILOTFISH_BIN = os.environ.get("PILOTFISH_BIN") or os.path.join(
    SOURCE_DIR, "build", "bootstrap", "pilotfish")
ECHO_BIN = os.environ.get("PF_ECHO_SERVER") or os.path.join(
    SOURCE_DIR, "build", "tools", "pf_echo_server")

DEFAULT_TIMEOUT = 10.0
HCM_NAME = "envoy.filters.network.http_connection_manager"
HCM_TYPE = ("type.googleapis.com/"
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager")
ROUTER_FILTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}
TCP_PROXY_NAME = "envoy.filters.network.tcp_proxy"
TCP_PROXY_TYPE = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
UPSTREAM_CONNECT_ERROR = "upstream connect error or disconnect/reset before headers"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

# Processes started by this interpreter; killed at exit even if a cleanup was skipped.
_live_procs = set()


@atexit.register
def _kill_leftovers():
    for proc in list(_live_procs):
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def require_binary(path, what):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError(f"{what} binary not found or not executable: {path} "
                             f"(build it: cd build && ninja -j2 pilotfish pf_echo_server)")


def skip_ads_under_tsan(case):
    """The TSan build cannot check the ADS client: Debian's gRPC is not built with TSan, so the
    hand-offs between its threads (atomics TSan cannot see) show as races. Those tests run in
    the plain and ASan builds; under TSan they are skipped, saying why."""
    if os.environ.get("PF_SANITIZER") == "thread":
        case.skipTest("ADS over gRPC is not checked under TSan (Debian's gRPC is uninstrumented)")


def free_port():
    """A port the kernel just handed out on 127.0.0.1. It can be taken by someone else before the
    caller binds it; starters retry on a bind conflict."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct ports the kernel just handed out on 127.0.0.1 (all held open while picking, so
    two listeners of one config never get the same one); same caveat as free_port()."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def poll_until(predicate, timeout=DEFAULT_TIMEOUT, interval=0.02, what="condition"):
    """Calls predicate() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def can_connect(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail_file(path, max_lines=60, max_bytes=64 << 10):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-max_lines:])


def bytes_pattern(n):
    """The pf_echo_server /bytes/N payload: byte i is 'a' + i % 26."""
    alphabet = bytes(range(ord("a"), ord("a") + 26))
    return (alphabet * (n // 26 + 1))[:n]


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def pattern_sha256(n, block=1 << 20):
    """SHA-256 of bytes_pattern(n) without holding all of it (block is a multiple of 26)."""
    block -= block % 26
    h = hashlib.sha256()
    piece = bytes_pattern(block)
    left = n
    while left > 0:
        take = min(left, block)
        h.update(piece[:take])
        left -= take
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Raw HTTP/1.1 client

class ProtocolError(Exception):
    pass


class Response:
    def __init__(self, version, status, reason, headers, body=b"", framing=None, raw_head=b""):
        self.version = version          # "HTTP/1.1"
        self.status = status            # int
        self.reason = reason
        self.headers = headers          # list of (name, value) as received
        self.body = body                # bytes (empty if a sink consumed it)
        self.framing = framing          # "content-length", "chunked", "close" or None (no body)
        self.raw_head = raw_head
        self.body_len = len(body)

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_header(self, name):
        return bool(self.header_all(name))

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            raise AssertionError(f"response body is not JSON ({e}): {self.body[:500]!r}") from e

    def __repr__(self):
        return (f"<Response {self.version} {self.status} {self.reason!r} headers={self.headers} "
                f"body[{self.body_len}]={self.body[:300]!r}>")


class RawConn:
    """A client socket with a read buffer and deadline-bound reads."""

    def __init__(self, port=None, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, recv_size=256 << 10,
                 rcvbuf=None, before_recv=None, sock=None):
        """Connects to host:port, or wraps an already connected `sock` (e.g. an accepted one)."""
        self.timeout = timeout
        self.recv_size = recv_size
        self.before_recv = before_recv
        if sock is not None:
            self.sock = sock
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if rcvbuf is not None:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect((host, port))
            except OSError:
                self.sock.close()
                raise
        self.buf = bytearray()
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def _fill(self, deadline):
        """Reads more bytes into buf; False on EOF. Raises socket.timeout past the deadline."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        if self.before_recv is not None:
            self.before_recv()
        self.sock.settimeout(left)
        data = self.sock.recv(self.recv_size)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _deadline(self, timeout):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def read_until(self, delim, timeout=None, limit=1 << 20):
        deadline = self._deadline(timeout)
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out = bytes(self.buf[:i + len(delim)])
                del self.buf[:i + len(delim)]
                return out
            if len(self.buf) > limit:
                raise ProtocolError(f"no {delim!r} within {limit} bytes")
            if not self._fill(deadline):
                raise ProtocolError(
                    f"connection closed before {delim!r}; got {bytes(self.buf)[:300]!r}")

    def read_exact(self, n, timeout=None, sink=None):
        deadline = self._deadline(timeout)
        out = bytearray()
        while n > 0:
            if not self.buf and not self._fill(deadline):
                raise ProtocolError(f"connection closed with {n} body bytes still expected")
            take = min(n, len(self.buf))
            piece = bytes(self.buf[:take])
            del self.buf[:take]
            n -= take
            if sink is not None:
                sink(piece)
            else:
                out += piece
        return bytes(out)

    def read_to_close(self, timeout=None, sink=None):
        deadline = self._deadline(timeout)
        out = bytearray()
        while True:
            if self.buf:
                piece = bytes(self.buf)
                self.buf.clear()
                if sink is not None:
                    sink(piece)
                else:
                    out += piece
            try:
                if not self._fill(deadline):
                    break
            except ConnectionResetError:
                self.eof = True
                break
        return bytes(out)

    def read_head(self, timeout=None):
        """Reads one status line + headers. Returns (version, status, reason, headers, raw)."""
        raw = self.read_until(b"\r\n\r\n", timeout=timeout, limit=256 << 10)
        lines = raw[:-4].split(b"\r\n")
        m = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise ProtocolError(f"bad status line {lines[0]!r}")
        headers = []
        for line in lines[1:]:
            if b":" not in line or line[:1] in (b" ", b"\t"):
                raise ProtocolError(f"bad header line {line!r}")
            k, v = line.split(b":", 1)
            headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        return (m.group(1).decode(), int(m.group(2)), (m.group(3) or b"").decode("latin-1"),
                headers, raw)

    def read_request(self, timeout=None, sink=None):
        """Server side: reads one request. Returns (method, target, headers, body)."""
        raw = self.read_until(b"\r\n\r\n", timeout=timeout, limit=256 << 10)
        lines = raw[:-4].split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            raise ProtocolError(f"bad request line {lines[0]!r}")
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers.append((k.decode("latin-1").lower(), v.strip().decode("latin-1")))
        hmap = dict(headers)
        body = bytearray()
        take = sink if sink is not None else body.extend
        if "chunked" in hmap.get("transfer-encoding", "").lower():
            self._read_chunked(take, timeout)
        elif "content-length" in hmap:
            self.read_exact(int(hmap["content-length"]), timeout=timeout, sink=take)
        return parts[0].decode(), parts[1].decode(), headers, bytes(body)

    def read_response(self, method="GET", timeout=None, sink=None, skip_interim=True):
        """Reads one response, honouring content-length, chunked and close framing. Interim 1xx
        responses (except 101) are skipped unless skip_interim is False."""
        while True:
            version, status, reason, headers, raw = self.read_head(timeout)
            resp = Response(version, status, reason, headers, raw_head=raw)
            if 100 <= status < 200 and status != 101 and skip_interim:
                continue
            break
        if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
            return resp
        te = ",".join(resp.header_all("transfer-encoding")).lower()
        cls = resp.header_all("content-length")
        body = bytearray()
        total = [0]

        def take(piece):
            total[0] += len(piece)
            if sink is not None:
                sink(piece)
            else:
                body.extend(piece)

        if te:
            if te.split(",")[-1].strip() != "chunked":
                raise ProtocolError(f"unsupported transfer-encoding {te!r}")
            if cls:
                raise ProtocolError("response has both content-length and transfer-encoding")
            resp.framing = "chunked"
            self._read_chunked(take, timeout)
        elif cls:
            if len(set(cls)) != 1 or not cls[0].isdigit():
                raise ProtocolError(f"bad content-length {cls}")
            resp.framing = "content-length"
            self.read_exact(int(cls[0]), timeout=timeout, sink=take)
        else:
            resp.framing = "close"
            self.read_to_close(timeout=timeout, sink=take)
        resp.body = bytes(body)
        resp.body_len = total[0]
        return resp

    def _read_chunked(self, take, timeout):
        while True:
            line = self.read_until(b"\r\n", timeout=timeout, limit=4096)[:-2]
            size_s = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9a-fA-F]+", size_s):
                raise ProtocolError(f"bad chunk size line {line!r}")
            size = int(size_s, 16)
            if size == 0:
                while self.read_until(b"\r\n", timeout=timeout, limit=65536) != b"\r\n":
                    pass  # trailers
                return
            self.read_exact(size, timeout=timeout, sink=take)
            if self.read_exact(2, timeout=timeout) != b"\r\n":
                raise ProtocolError("chunk not followed by CRLF")

    def wait_closed(self, timeout=None):
        """True if the peer closes (EOF or RST) within the timeout; buffered or later bytes are
        returned as the second element."""
        deadline = self._deadline(timeout)
        extra = bytearray(self.buf)
        self.buf.clear()
        while True:
            try:
                if not self._fill(deadline):
                    return True, bytes(extra)
            except (ConnectionResetError, BrokenPipeError):
                return True, bytes(extra)
            except socket.timeout:
                return False, bytes(extra)
            extra += self.buf
            self.buf.clear()


def raw_request(port, data, timeout=DEFAULT_TIMEOUT, method="GET", read="one"):
    """Sends raw bytes on a new connection. read="one": one Response; "close": every byte until
    the peer closes; "responses": a list of responses read until close."""
    with RawConn(port, timeout=timeout) as c:
        c.send(data)
        if read == "one":
            return c.read_response(method=method, timeout=timeout)
        if read == "close":
            return c.read_to_close(timeout=timeout)
        out = []
        while True:
            try:
                out.append(c.read_response(method=method, timeout=timeout))
            except ProtocolError:
                break
        return out


def build_request(method, path, headers=(), body=b"", host="example.com", version="HTTP/1.1"):
    lines = [f"{method} {path} {version}"]
    names = {k.lower() for k, _ in headers}
    if host is not None and "host" not in names:
        lines.append(f"Host: {host}")
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    for k, v in headers:
        lines.append(f"{k}: {v}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body.encode() if isinstance(body, str) else body)


def http_request(port, method="GET", path="/", body=None, headers=None, timeout=DEFAULT_TIMEOUT,
                 host=None):
    """One request with http.client on a new connection; returns a Response."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if host is not None:
            hdrs["Host"] = host
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(f"HTTP/{r.version // 10}.{r.version % 10}", r.status, r.reason,
                        r.getheaders(), data)
    finally:
        conn.close()


def concurrent_requests(port, paths, timeout=15):
    """GETs every path at once (threads released together); a Response or the exception each."""
    results = [None] * len(paths)
    barrier = threading.Barrier(len(paths))

    def one(i):
        barrier.wait()
        try:
            results[i] = http_request(port, path=paths[i], timeout=timeout)
        except Exception as e:  # noqa: BLE001 - the caller asserts on it
            results[i] = e
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(2 * timeout)
    return results


def http_get_json(port, path, timeout=DEFAULT_TIMEOUT):
    r = http_request(port, "GET", path, timeout=timeout)
    if r.status != 200:
        raise AssertionError(f"GET {path} on :{port} -> {r!r}")
    return r.json()


# ---------------------------------------------------------------------------------------------
# WebSocket (RFC 6455) helpers

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_key():
    return base64.b64encode(os.urandom(16)).decode()


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_frame(payload, opcode=0x1, mask=True, fin=True):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def ws_read_frame(conn, timeout=None):
    """Reads one frame from a RawConn: returns (fin, opcode, payload)."""
    h = conn.read_exact(2, timeout=timeout)
    fin, opcode = bool(h[0] & 0x80), h[0] & 0x0F
    masked, n = bool(h[1] & 0x80), h[1] & 0x7F
    if n == 126:
        n = int.from_bytes(conn.read_exact(2, timeout=timeout), "big")
    elif n == 127:
        n = int.from_bytes(conn.read_exact(8, timeout=timeout), "big")
    key = conn.read_exact(4, timeout=timeout) if masked else None
    payload = conn.read_exact(n, timeout=timeout)
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return fin, opcode, payload


# ---------------------------------------------------------------------------------------------
# Config building (JSON is valid YAML, so configs are written with json.dumps)

def route(cluster=None, prefix="/", path=None, timeout=None, websocket=False, safe_regex=None,
          direct=None, name=None, **route_extra):
    """A route entry. direct=(status, body_or_None) makes a direct_response route."""
    match = {}
    if path is not None:
        match["path"] = path
    elif safe_regex is not None:
        match["safe_regex"] = {"regex": safe_regex}
    else:
        match["prefix"] = prefix
    r = {"match": match}
    if name:
        r["name"] = name
    if direct is not None:
        status, body = direct
        r["direct_response"] = {"status": status}
        if body is not None:
            r["direct_response"]["body"] = {"inline_string": body}
        return r
    action = {"cluster": cluster}
    if timeout is not None:
        action["timeout"] = timeout
    if websocket:
        action["upgrade_configs"] = [{"upgrade_type": "websocket"}]
    action.update(route_extra)
    r["route"] = action
    return r


def vhost(routes, domains=("*",), name=None):
    return {"name": name or ("vh_" + "_".join(d.replace("*", "any").replace(".", "_")
                                                for d in domains)),
            "domains": list(domains), "routes": list(routes)}


def cluster(name, endpoints, type="STATIC", connect_timeout="1s", **extra):
    """endpoints: list of (host, port)."""
    c = {
        "name": name,
        "type": type,
        "connect_timeout": connect_timeout,
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": h, "port_value": p}}}}
                for h, p in endpoints]}],
        },
    }
    c.update(extra)
    return c


class Bootstrap:
    """An Envoy v3 bootstrap with static listeners and clusters. Listener ports are filled in at
    render time (the harness picks them), so a test only names listeners."""

    def __init__(self, admin=True):
        self.listeners = []
        self.clusters = []
        self.admin = admin
        self.extra = {}

    def add_http_listener(self, name, virtual_hosts, stat_prefix=None, http_filters=None,
                          **hcm_extra):
        hcm = {
            "@type": HCM_TYPE,
            "stat_prefix": stat_prefix or name,
            "route_config": {"name": name + "_route", "virtual_hosts": list(virtual_hosts)},
            "http_filters": list(http_filters) if http_filters is not None else [ROUTER_FILTER],
        }
        hcm.update(hcm_extra)
        self.listeners.append({
            "name": name,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [{"filters": [{"name": HCM_NAME, "typed_config": hcm}]}],
        })
        return self

    def add_tcp_proxy_listener(self, name, cluster_name, stat_prefix=None, **extra):
        tp = {"@type": TCP_PROXY_TYPE, "stat_prefix": stat_prefix or name, "cluster": cluster_name}
        tp.update(extra)
        self.listeners.append({
            "name": name,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [{"filters": [{"name": TCP_PROXY_NAME, "typed_config": tp}]}],
        })
        return self

    def add_cluster(self, name, endpoints, **kw):
        self.clusters.append(cluster(name, endpoints, **kw))
        return self

    def listener_names(self):
        return [l["name"] for l in self.listeners]

    def render(self, ports, admin_port):
        listeners = json.loads(json.dumps(self.listeners))
        for l in listeners:
            l["address"]["socket_address"]["port_value"] = ports[l["name"]]
        doc = {"static_resources": {"listeners": listeners, "clusters": self.clusters}}
        if self.admin:
            doc["admin"] = {"address": {"socket_address": {"address": "127.0.0.1",
                                                           "port_value": admin_port}}}
        doc.update(self.extra)
        return doc


def simple_bootstrap(upstream_port, route_kw=None, hcm_extra=None, cluster_kw=None,
                     listener="http", cluster_name="echo"):
    """One HTTP listener, one vhost "*", one route "/" to one STATIC cluster."""
    b = Bootstrap()
    b.add_cluster(cluster_name, [("127.0.0.1", upstream_port)], **(cluster_kw or {}))
    b.add_http_listener(listener, [vhost([route(cluster_name, **(route_kw or {}))])],
                        **(hcm_extra or {}))
    return b


# ---------------------------------------------------------------------------------------------
# Processes

class FakeUpstream(threading.Thread):
    """A misbehaving upstream written inside a test: listens on a free loopback port and hands
    every accepted connection to handle(conn) on its own thread. stop() closes everything."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.conns.append(c)
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def handle(self, conn):
        raise NotImplementedError

    def stop(self):
        self.sock.close()
        with self.lock:
            for c in self.conns:
                c.close()


class _Process:
    def __init__(self, label, workdir):
        self.label = label
        self.workdir = workdir
        self.proc = None
        self.log_path = os.path.join(workdir, f"{label}.log")
        self.expect_exit = False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=60):
        return tail_file(self.log_path, lines)

    def _spawn(self, argv):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.workdir)
        finally:
            log.close()
        _live_procs.add(self.proc)

    def kill(self):
        """Kills the process if it still runs. Returns its exit status before the kill, or None
        if it was still running."""
        if self.proc is None:
            return None
        status = self.proc.poll()
        if status is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        _live_procs.discard(self.proc)
        return status


class EchoServer(_Process):
    """pf_echo_server on a kernel-chosen port (--port 0 --port-file)."""

    def __init__(self, name, workdir):
        super().__init__(f"echo-{name}", workdir)
        self.name = name
        self.port = None
        self._stats_calls = 0

    def __iter__(self):  # allows `proc, port = start_echo(...)`
        return iter((self.proc, self.port))

    def start(self, timeout=DEFAULT_TIMEOUT):
        require_binary(ECHO_BIN, "pf_echo_server")
        port_file = os.path.join(self.workdir, f"{self.label}.port")
        self._spawn([ECHO_BIN, "--port", "0", "--name", self.name, "--port-file", port_file])
        deadline = time.monotonic() + timeout
        while True:
            if os.path.exists(port_file) and "listening on" in tail_file(self.log_path):
                with open(port_file) as f:
                    text = f.read().strip()
                if text.isdigit():
                    self.port = int(text)
                    break
            if self.proc.poll() is not None:
                raise AssertionError(f"pf_echo_server exited with {self.proc.returncode}:\n"
                                     f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"pf_echo_server did not print 'listening on' in {timeout}s:\n"
                                     f"{self.log_tail()}")
            time.sleep(0.01)
        return self

    def stats(self):
        """Raw /stats, fetched directly (not through the proxy) on a new connection."""
        self._stats_calls += 1
        return http_get_json(self.port, "/stats")

    def wait_quiet(self, timeout=5.0, settle=0.2):
        """Waits until no other client has a connection open and connections_total has not moved
        for `settle` seconds, e.g. after a proxy's readiness probes (a tcp_proxy opens an
        upstream connection for each of them)."""
        deadline = time.monotonic() + timeout
        last_total, since = None, time.monotonic()
        while True:
            c = self.counters()
            now = time.monotonic()
            if c["connections_total"] != last_total:
                last_total, since = c["connections_total"], now
            elif c["connections_active"] == 0 and now - since >= settle:
                return c
            if now > deadline:
                raise AssertionError(f"echo {self.name} not quiet after {timeout}s: {c}")
            time.sleep(0.02)

    def counters(self):
        """/stats with this harness's own /stats traffic taken out: the number of connections
        and requests other clients (the proxy) made, and their connections still open. The echo
        server counts a request when its headers complete, so the /stats request counts itself."""
        s = self.stats()
        n = self._stats_calls
        return {
            "connections_total": s["connections_total"] - n,
            "connections_active": s["connections_active"] - 1,
            "requests_total": s["requests_total"] - n,
        }


class Proxy(_Process):
    """A running pilotfish."""

    def __init__(self, bootstrap, workdir, args=(), concurrency=2, label="pilotfish"):
        super().__init__(label, workdir)
        self.bootstrap = bootstrap
        self.args = list(args)
        self.concurrency = concurrency
        self.ports = {}
        self.admin_port = None
        self.config_path = os.path.join(workdir, f"{label}.yaml")

    def port(self, name=None):
        if name is None:
            name = self.bootstrap.listener_names()[0]
        return self.ports[name]

    def argv(self):
        argv = [PILOTFISH_BIN, "-c", self.config_path]
        if self.concurrency is not None:
            argv += ["--concurrency", str(self.concurrency)]
        return argv + self.args

    def start(self, timeout=DEFAULT_TIMEOUT, attempts=4, admin_ready=True):
        require_binary(PILOTFISH_BIN, "pilotfish")
        for attempt in range(attempts):
            names = self.bootstrap.listener_names()
            picked = free_ports(len(names) + 1)
            self.ports = dict(zip(names, picked))
            self.admin_port = picked[-1] if self.bootstrap.admin else None
            with open(self.config_path, "w") as f:
                json.dump(self.bootstrap.render(self.ports, self.admin_port), f, indent=1)
            with open(self.log_path, "ab") as f:
                f.write(f"=== start attempt {attempt + 1}: {' '.join(self.argv())}\n".encode())
            self._spawn(self.argv())
            try:
                self.wait_ready(timeout, admin_ready=admin_ready)
                return self
            except AssertionError:
                log = self.log_tail(200).lower()
                if (self.proc.poll() is not None and attempt + 1 < attempts
                        and ("address already in use" in log or "eaddrinuse" in log)):
                    continue  # a port was taken between free_port() and bind(): new ports
                self.expect_exit = True  # already reported by this failure
                self.kill()
                raise
        raise AssertionError("unreachable")

    def wait_ready(self, timeout=DEFAULT_TIMEOUT, admin_ready=True):
        """Waits until every listener (and admin) port accepts a TCP connection and then, with
        admin_ready, until admin GET /ready answers 200 (Envoy: LIVE once workers started).
        test_lifecycle checks separately that a listener serves as soon as it accepts."""
        deadline = time.monotonic() + timeout
        pending = list(self.ports.values()) + ([self.admin_port] if self.admin_port else [])
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError(f"pilotfish exited with {self.proc.returncode} before it was "
                                     f"ready; config {self.config_path}:\n{self.log_tail()}")
            if can_connect(pending[0], timeout=0.25):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise AssertionError(f"pilotfish not accepting on port {pending[0]} after "
                                     f"{timeout}s:\n{self.log_tail()}")
            time.sleep(0.02)
        if admin_ready and self.admin_port:
            last = None
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"pilotfish exited with {self.proc.returncode} before "
                                         f"/ready:\n{self.log_tail()}")
                try:
                    last = http_request(self.admin_port, "GET", "/ready", timeout=2)
                    if last.status == 200:
                        break
                except (OSError, http.client.HTTPException) as e:
                    last = e
                if time.monotonic() > deadline:
                    raise AssertionError(f"admin /ready not 200 after {timeout}s (last: "
                                         f"{last!r}):\n{self.log_tail()}")
                time.sleep(0.02)
        return self

    def stat(self, name):
        """One counter or gauge from the admin's /stats, by its full name."""
        r = http_request(self.admin_port, "GET", "/stats?filter=^" + name.replace(".", r"\.") +
                         "$")
        for line in r.body.decode().splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        raise AssertionError(f"no stat {name} in {r.body!r}")

    def rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


def run_pilotfish(args, timeout=30, cwd=None):
    """Runs pilotfish to completion (e.g. --mode validate). Returns (returncode, output) with
    stdout and stderr merged. A run past the timeout is killed and fails the caller."""
    require_binary(PILOTFISH_BIN, "pilotfish")
    try:
        p = subprocess.run([PILOTFISH_BIN, *args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                           cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"pilotfish {' '.join(args)} still running after {timeout}s; "
                             f"output: {(e.output or b'')[-2000:]!r}") from e
    return p.returncode, p.stdout.decode("utf-8", "replace")


def write_config(dirpath, name, doc):
    path = os.path.join(dirpath, name)
    with open(path, "w") as f:
        if isinstance(doc, str):
            f.write(doc)
        else:
            json.dump(doc, f, indent=1)
    return path


# ---------------------------------------------------------------------------------------------
# Base test case

class ProxyTestCase(unittest.TestCase):
    """Gives each test a temp dir and process starters whose processes are killed in cleanups.
    A proxy that died on its own during a test (crash) fails the test. On failure the log tails
    of the processes are printed."""

    def setUp(self):
        super().setUp()
        self._tmp = tempfile.TemporaryDirectory(prefix="pf-it-")
        self.addCleanup(self._tmp.cleanup)
        self.tmpdir = self._tmp.name
        self._procs = []
        self._tails = {}

    def _stop(self, p):
        status = p.kill()
        self._tails[p.label] = p.log_tail(80)
        if status is not None and not p.expect_exit:
            raise AssertionError(f"{p.label} exited on its own during the test with status "
                                 f"{status}:\n{self._tails[p.label]}")

    def start_echo(self, name="echo"):
        e = EchoServer(name, self.tmpdir)
        self._procs.append(e)
        self.addCleanup(self._stop, e)
        return e.start()

    def start_proxy(self, bootstrap, args=(), concurrency=2, label="pilotfish",
                    timeout=DEFAULT_TIMEOUT, admin_ready=True):
        p = Proxy(bootstrap, self.tmpdir, args=args, concurrency=concurrency, label=label)
        self._procs.append(p)
        self.addCleanup(self._stop, p)
        return p.start(timeout=timeout, admin_ready=admin_ready)

    def diag(self):
        """Log tails of this test's processes, for assertion messages."""
        out = []
        for p in self._procs:
            out.append(f"--- {p.label} (pid {p.proc.pid if p.proc else '-'}) log tail ---\n"
                       f"{p.log_tail(40)}")
        return "\n" + "\n".join(out)

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self._tails_or_none():
            sys.stderr.write(f"\n===== process logs for {self.id()} =====\n")
            for label, tail in self._tails.items():
                sys.stderr.write(f"--- {label} ---\n{tail}\n")
        return out

    def _tails_or_none(self):
        return getattr(self, "_tails", None)

    # Common assertions --------------------------------------------------------------------

    def assertStatus(self, resp, status):
        self.assertEqual(resp.status, status, f"unexpected response {resp!r}{self.diag()}")

    def assertUpstreamUnseen(self, echo, before, what):
        """The echo server got no connection and no request since `before` (a counters())."""
        after = echo.counters()
        self.assertEqual(after["requests_total"], before["requests_total"],
                         f"{what}: upstream saw a request ({before} -> {after})")
        self.assertEqual(after["connections_total"], before["connections_total"],
                         f"{what}: proxy opened an upstream connection ({before} -> {after})")


class NetnsTestCase(unittest.TestCase):
    """Each test gets a private network namespace (loopback up) and a temp dir; processes
    started with spawn() run inside it and are killed in a cleanup, and the namespace (and its
    /etc/netns/NAME, which `ip netns exec` bind-mounts over /etc) is removed. Needs root and
    iproute2: the test is skipped otherwise."""

    ns_prefix = "pf-ns"

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0 or shutil.which("ip") is None:
            self.skipTest("needs root and iproute2")
        self.ns = f"{self.ns_prefix}-{os.getpid()}"
        self.etc = os.path.join("/etc/netns", self.ns)
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix=self.ns_prefix + "-")
        r = subprocess.run(["ip", "netns", "add", self.ns], capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.skipTest("cannot create a network namespace: " + r.stderr.strip())
        self.addCleanup(self._cleanup_ns)
        self.run_ns(["ip", "link", "set", "lo", "up"])

    def _cleanup_ns(self):
        for p, log in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
            log.close()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def ns_exec(self, argv):
        return ["ip", "netns", "exec", self.ns] + list(argv)

    def run_ns(self, argv):
        r = subprocess.run(self.ns_exec(argv), capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"{argv}: {r.stderr}")
        return r.stdout

    def spawn(self, name, argv):
        """Starts argv inside the namespace, output to NAME.log; returns (Popen, log file)."""
        log = open(os.path.join(self.tmp, name + ".log"), "w+")
        p = subprocess.Popen(self.ns_exec(argv), stdout=log, stderr=subprocess.STDOUT)
        self.procs.append((p, log))
        return p, log

    def log_of(self, log):
        log.flush()
        log.seek(0)
        return log.read()[-4000:]

    def curl(self, url, extra=()):
        """curl -i from inside the namespace: (curl's exit code, its output)."""
        r = subprocess.run(self.ns_exec(["curl", "-sS", "-m", "5", "-i", *extra, url]),
                           capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout + r.stderr


def main():
    unittest.main(verbosity=2)
