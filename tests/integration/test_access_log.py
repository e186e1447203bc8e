#!/usr/bin/env python3
"""File access logs, checked byte for byte: Envoy's default format and Istio's default format
for a known request, a typed JSON line, 503 lines with their response flags, a tcp_proxy line,
a status_code_filter that logs only errors, reopen on SIGUSR1, and unknown operators rejected at
load. The variable parts (start time, duration, ports) are computed or bounded by the test."""

import datetime
import json
import os
import re
import signal
import subprocess
import time

import harness as h
from harness import route, vhost

FILE_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
FLUSH = ("--file-flush-interval-msec", "50")

ISTIO_FORMAT = (
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
    "\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% "
    "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
    "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n")


class RecordingUpstream(h.FakeUpstream):
    """Answers GET /status/N with N and anything else with 200 "hello\\n"; remembers the peer
    address of every connection (the proxy's UPSTREAM_LOCAL_ADDRESS)."""

    def __init__(self):
        super().__init__()
        self.peers = []

    def handle(self, conn):
        with self.lock:
            self.peers.append(conn.getpeername())
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                status, body = 200, b"hello\n"
                if path.startswith("/status/"):
                    status = int(path.split("/")[2])
                    body = f"{status}\n".encode()
                close = any(l.lower() == "connection: close" for l in lines[1:])
                conn.sendall(f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n"
                             f"{'connection: close' + chr(13) + chr(10) if close else ''}"
                             "\r\n".encode() + body)
                if close:
                    conn.close()
                    return
        except OSError:
            return


def file_log(path, log_format=None, **extra):
    config = {"@type": FILE_LOG, "path": path}
    if log_format is not None:
        config["log_format"] = log_format
    entry = {"name": "envoy.access_loggers.file", "typed_config": config}
    entry.update(extra)
    return entry


def text(fmt):
    return {"text_format_source": {"inline_string": fmt}}


class AccessLogTest(h.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.upstream = RecordingUpstream()
        self.upstream.start()
        self.addCleanup(self.upstream.stop)

    def path(self, name):
        return os.path.join(self.tmpdir, name)

    def start_http(self, access_log, args=FLUSH):
        boot = h.Bootstrap()
        boot.add_cluster("backend", [("127.0.0.1", self.upstream.port)])
        boot.add_cluster("empty", [])
        boot.add_cluster("down", [("127.0.0.1", h.free_port())])
        boot.add_http_listener("http", [vhost([
            route("empty", prefix="/nohost", name="r_empty"),
            route("down", prefix="/down", name="r_down"),
            route("backend", prefix="/", name="r1"),
        ], domains=["logs.example"])], access_log=access_log)
        self.proxy = self.start_proxy(boot, args=args)
        return self.proxy.port()

    def wait_lines(self, path, n, timeout=10, having=""):
        """The file's first n lines (of those containing `having`), once there are n."""
        def lines():
            try:
                with open(path, "rb") as f:
                    data = f.read().decode()
            except FileNotFoundError:
                return None
            got = [l for l in data.splitlines(keepends=True) if having in l]
            return got[:n] if len(got) >= n else None
        return h.poll_until(lines, timeout=timeout, what=f"{n} line(s) in {path}")

    def request(self, port, path, headers=()):
        """One request on its own connection: (response, client port, t0, t1)."""
        t0 = time.time()
        with h.RawConn(port) as c:
            client_port = c.sock.getsockname()[1]
            c.send(h.build_request("GET", path, list(headers), host="logs.example"))
            r = c.read_response()
        return r, client_port, t0, time.time()

    def split_time(self, line, t0, t1):
        """Checks the leading [START_TIME] (Envoy's default, UTC, milliseconds) lies in the
        request's window and returns the rest of the line."""
        m = re.match(r"\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] ", line)
        self.assertIsNotNone(m, line)
        start = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertGreaterEqual(start, int(t0 * 1000) / 1000 - 0.001, line)
        self.assertLessEqual(start, t1, line)
        return line[m.end():]

    def test_envoy_and_istio_default_formats(self):
        envoy_log, istio_log = self.path("envoy.log"), self.path("istio.log")
        port = self.start_http([file_log(envoy_log), file_log(istio_log, text(ISTIO_FORMAT))])
        r, client_port, t0, t1 = self.request(port, "/hello?x=1", [
            ("User-Agent", "pf-test/1.0"), ("X-Request-Id", "rid-known-1"),
            ("X-Forwarded-For", "10.1.2.3")])
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"hello\n")
        ust = r.header("x-envoy-upstream-service-time")
        self.assertIsNotNone(ust)
        elapsed_ms = (time.time() - t0) * 1000

        # [%START_TIME%] "GET /path HTTP/1.1" code flags rx tx duration ust "xff" "ua" "rid"
        # "authority" "upstream host"
        line = self.wait_lines(envoy_log, 1)[0]
        rest = self.split_time(line, t0, t1)
        duration = rest.split(" ")[7]
        self.assertTrue(duration.isdigit() and int(duration) <= elapsed_ms, line)
        self.assertEqual(
            rest,
            f"\"GET /hello?x=1 HTTP/1.1\" 200 - 0 6 {duration} {ust} \"10.1.2.3\" "
            f"\"pf-test/1.0\" \"rid-known-1\" \"logs.example\" "
            f"\"127.0.0.1:{self.upstream.port}\"\n")

        line = self.wait_lines(istio_log, 1)[0]
        rest = self.split_time(line, t0, t1)
        duration = rest.split(" ")[10]
        self.assertTrue(duration.isdigit() and int(duration) <= elapsed_ms, line)
        self.assertEqual(len(self.upstream.peers), 1)
        upstream_local = "%s:%d" % self.upstream.peers[0]
        self.assertEqual(
            rest,
            f"\"GET /hello?x=1 HTTP/1.1\" 200 - via_upstream - \"-\" 0 6 {duration} {ust} "
            f"\"10.1.2.3\" \"pf-test/1.0\" \"rid-known-1\" \"logs.example\" "
            f"\"127.0.0.1:{self.upstream.port}\" backend {upstream_local} 127.0.0.1:{port} "
            f"127.0.0.1:{client_port} - r1\n")

    def test_json_format_is_typed(self):
        log = self.path("json.log")
        port = self.start_http([file_log(log, {"json_format": {
            "code": "%RESPONSE_CODE%", "method": "%REQ(:METHOD)%", "missing": "%REQ(X-NOPE)%",
            "bytes_sent": "%BYTES_SENT%", "upstream": "%UPSTREAM_HOST%", "ua": "%REQ(USER-AGENT)%",
            "both": "%REQ(:METHOD)% %RESPONSE_CODE% %REQ(X-NOPE)%", "route": "%ROUTE_NAME%",
            "flags": "%RESPONSE_FLAGS%"}})])
        r, _, _, _ = self.request(port, "/j", [("User-Agent", 'say "hi" \\o/')])
        self.assertStatus(r, 200)
        line = self.wait_lines(log, 1)[0]
        expected = {"both": "GET 200 -", "bytes_sent": 6, "code": 200, "flags": "-",
                    "method": "GET", "missing": None, "route": "r1", "ua": 'say "hi" \\o/',
                    "upstream": f"127.0.0.1:{self.upstream.port}"}
        self.assertEqual(json.loads(line), expected)
        # One compact object a line, keys sorted.
        self.assertEqual(line, json.dumps(expected, separators=(",", ":"), sort_keys=True) + "\n")

    def test_503_lines_with_response_flags(self):
        log = self.path("flags.log")
        port = self.start_http([file_log(log, text(
            "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %UPSTREAM_HOST% "
            "%UPSTREAM_CLUSTER% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_SENT% "
            "%UPSTREAM_REQUEST_ATTEMPT_COUNT% %ROUTE_NAME%\n"))])
        r_uh, _, _, _ = self.request(port, "/nohost")
        self.assertStatus(r_uh, 503)
        r_uf, _, _, _ = self.request(port, "/down")
        self.assertStatus(r_uf, 503)
        r_nr = h.raw_request(port, h.build_request("GET", "/", host="other.example"))
        self.assertStatus(r_nr, 404)
        down = self.proxy.bootstrap.clusters[2]["load_assignment"]["endpoints"][0]
        down_port = down["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"]
        self.assertEqual(self.wait_lines(log, 3), [
            f"503 UH no_healthy_upstream - empty \"-\" {len(r_uh.body)} 0 r_empty\n",
            f"503 UF upstream_reset_before_response_started{{remote_connection_failure}} "
            f"127.0.0.1:{down_port} down \"delayed_connect_error:_111\" {len(r_uf.body)} 1 "
            "r_down\n",
            "404 NR route_not_found - - \"-\" 0 0 -\n",
        ])

    def test_malformed_request_has_no_headers_to_log(self):
        log = self.path("dpe.log")
        port = self.start_http([file_log(log, text(
            "\"%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% "
            "%UPSTREAM_HOST%\n"))])
        r = h.raw_request(port, b"NOT A REQUEST\r\n\r\n")
        self.assertStatus(r, 400)
        self.assertEqual(self.wait_lines(log, 1), ["\"- - HTTP/1.1\" 400 DPE -\n"])

    def test_status_code_filter_logs_only_errors(self):
        log = self.path("errors.log")
        port = self.start_http([file_log(
            log, text("%RESPONSE_CODE% %REQ(:PATH)%\n"),
            filter={"status_code_filter": {"comparison": {
                "op": "GE", "value": {"default_value": 500, "runtime_key": "errors_only"}}}})])
        for path, status in (("/ok", 200), ("/status/404", 404), ("/status/503", 503),
                             ("/ok2", 200), ("/status/500", 500)):
            r, _, _, _ = self.request(port, path)
            self.assertStatus(r, status)
        self.assertEqual(self.wait_lines(log, 2), ["503 /status/503\n", "500 /status/500\n"])
        time.sleep(0.2)  # a few more flush intervals: nothing else arrives
        with open(log) as f:
            self.assertEqual(f.read(), "503 /status/503\n500 /status/500\n")

    def test_reopen_on_sigusr1(self):
        log = self.path("rotate.log")
        port = self.start_http([file_log(log, text("%REQ(:PATH)%\n"))])
        self.request(port, "/first")
        self.wait_lines(log, 1)
        os.rename(log, log + ".1")
        self.proxy.proc.send_signal(signal.SIGUSR1)
        # Lines written before the reopen may land in the old file; later ones in the new one.
        def reopened():
            self.request(port, "/second")
            if not os.path.exists(log):
                return False
            with open(log) as f:
                return "/second\n" in f.read()
        h.poll_until(reopened, timeout=10, interval=0.1, what="a line in the reopened file")
        with open(log + ".1") as f:
            self.assertTrue(f.read().startswith("/first\n"))

    def test_tcp_proxy_line(self):
        log = self.path("tcp.log")
        fmt = ("%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %BYTES_RECEIVED% %BYTES_SENT% %PROTOCOL% "
               "%RESPONSE_CODE% %RESPONSE_FLAGS% %DOWNSTREAM_REMOTE_ADDRESS% "
               "%UPSTREAM_LOCAL_ADDRESS% %REQ(:PATH)% %UPSTREAM_REQUEST_ATTEMPT_COUNT%\n")
        boot = h.Bootstrap()
        boot.add_cluster("backend", [("127.0.0.1", self.upstream.port)])
        boot.add_cluster("down", [("127.0.0.1", h.free_port())])
        boot.add_tcp_proxy_listener("tcp", "backend",
                                    access_log=[file_log(log, text(fmt))])
        boot.add_tcp_proxy_listener("tcp_down", "down",
                                    access_log=[file_log(log, text(fmt))])
        proxy = self.start_proxy(boot, args=FLUSH)
        request = h.build_request("GET", "/over-tcp", [("Connection", "close")])
        with h.RawConn(proxy.port("tcp")) as c:
            client_port = c.sock.getsockname()[1]
            c.send(request)
            response = c.read_to_close()
        self.assertIn(b"hello\n", response)
        # The harness's readiness probes connect to each listener too: find our connection.
        line = self.wait_lines(log, 1, having=f" 127.0.0.1:{client_port} ")[0]
        # Probes opened upstream connections too: ours is one of the peers the upstream saw.
        upstream_local = line.split(" ")[8]
        self.assertIn(upstream_local, ["%s:%d" % p for p in self.upstream.peers])
        self.assertEqual(line, f"127.0.0.1:{self.upstream.port} backend {len(request)} "
                               f"{len(response)} - 0 - 127.0.0.1:{client_port} "
                               f"{upstream_local} - 1\n")
        with h.RawConn(proxy.port("tcp_down")) as c:
            client_port = c.sock.getsockname()[1]
            self.assertEqual(c.read_to_close(), b"")
        down_port = boot.clusters[1]["load_assignment"]["endpoints"][0]["lb_endpoints"][0][
            "endpoint"]["address"]["socket_address"]["port_value"]
        self.assertEqual(self.wait_lines(log, 1, having=f" 127.0.0.1:{client_port} ")[0],
                         f"127.0.0.1:{down_port} down 0 0 - 0 UF 127.0.0.1:{client_port} - - 1\n")

    def test_unknown_operator_is_a_config_error(self):
        boot = h.Bootstrap(admin=False)
        boot.add_cluster("backend", [("127.0.0.1", self.upstream.port)])
        boot.add_http_listener("http", [vhost([route("backend")])], access_log=[
            file_log(self.path("never.log"), text("%RESPONSE_CODE% %NOT_AN_OPERATOR%\n"))])
        config = self.path("bad.json")
        with open(config, "w") as f:
            json.dump(boot.render({"http": h.free_port()}, None), f)
        p = subprocess.run([h.PILOTFISH_BIN, "-c", config, "--mode", "validate"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("access_log[0].typed_config.log_format.text_format_source: unknown command "
                      "operator %NOT_AN_OPERATOR%", p.stderr)
        # A file that cannot be opened is a config error too, naming the entry.
        boot.listeners[0]["filter_chains"][0]["filters"][0]["typed_config"]["access_log"] = [
            file_log(self.path("no/such/dir/x.log"))]
        with open(config, "w") as f:
            json.dump(boot.render({"http": h.free_port()}, None), f)
        p = subprocess.run([h.PILOTFISH_BIN, "-c", config, "--mode", "validate"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"typed_config\.access_log\[0\]: cannot open access log file "
                                   r"'.*no/such/dir/x\.log': No such file or directory")


if __name__ == "__main__":
    h.main()
