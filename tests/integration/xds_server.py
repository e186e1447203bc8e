"""A file-driven xDS control plane for integration tests: runs tools/xds_server (pf_xds_server) on
a kernel-chosen port, writes its resource files atomically, and waits for its log lines.

Stdlib only. Usage:

    xds = XdsServer(PF_XDS_SERVER, os.path.join(tmpdir, "xds"))   # the directory is created
    xds.write("listeners.yaml", [listener_dict, ...])             # before or after start()
    xds.start()                                                   # .port is the bound port
    ... point the proxy's ADS config source at 127.0.0.1:xds.port ...
    xds.wait_for(r"ACK type=envoy\\.config\\.listener\\.v3\\.Listener version=1 ")
    xds.write("listeners.yaml", [changed_listener_dict])          # pushed to every stream
    line = xds.wait_for(r"ACK type=\\S+Listener version=2 ", since=mark)
    xds.stop(); xds.start()                                        # restarts on the same port
    xds.stop()

Log lines (one per event, flushed at once):
    RELOAD ok types=<type>:<version>,...|none files=N resources=M
    RELOAD error file=<path> <message>
    CONNECT node=<id> mode=sotw|delta service=ads|lds|cds|rds|eds stream=<n>
    DISCONNECT node=<id> mode=... service=... stream=<n> reason=<text>
    PUSH type=<type> version=<v> resources=N stream=<n> nonce=<k> node=<id>[ removed=M]
    ACK type=<type> version=<v> nonce=<k> node=<id> stream=<n>
    NACK type=<type> version=<v> nonce=<k> node=<id> stream=<n> error=<message>
<type> is the resource type without "type.googleapis.com/"; an ACK's or NACK's version is the
version of the response it answers.
"""

import atexit
import json
import os
import re
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("PF_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
XDS_SERVER_BIN = os.environ.get("PF_XDS_SERVER") or os.path.join(
    SOURCE_DIR, "build", "tools", "pf_xds_server")

DEFAULT_TIMEOUT = 10.0
TYPE_PREFIX = "type.googleapis.com/"
LISTENER_TYPE = TYPE_PREFIX + "envoy.config.listener.v3.Listener"
CLUSTER_TYPE = TYPE_PREFIX + "envoy.config.cluster.v3.Cluster"
ROUTE_TYPE = TYPE_PREFIX + "envoy.config.route.v3.RouteConfiguration"
ENDPOINT_TYPE = TYPE_PREFIX + "envoy.config.endpoint.v3.ClusterLoadAssignment"


# Servers started by this interpreter; killed at exit even if a test forgot to stop one.
_live = set()


@atexit.register
def _kill_leftovers():
    for server in list(_live):
        server.kill()


def with_type(type_url, resource):
    """`resource` (a dict) with its "@type" set, e.g. with_type(CLUSTER_TYPE, {...})."""
    return {"@type": type_url, **resource}


class XdsServer:
    """One pf_xds_server serving `directory`. Its stdout+stderr go to `log_path` (default:
    DIRECTORY.log, next to the directory), appended across restarts."""

    def __init__(self, binary=None, directory=None, log_path=None, extra_args=()):
        self.binary = binary or XDS_SERVER_BIN
        if directory is None:
            raise ValueError("XdsServer needs a resource directory")
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        base = self.directory.rstrip("/")
        self.log_path = log_path or base + ".log"
        self.port_file = base + ".port"
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None

    # -- files ------------------------------------------------------------------------------

    def write(self, filename, resources, version_info=None):
        """Replaces DIRECTORY/filename atomically (write to a dot-file, then rename). `resources`
        is a list of resource dicts (each with "@type"; written as a DiscoveryResponse in JSON
        whatever the extension: YAML reads JSON) or a str written as is (YAML or JSON text)."""
        return self.write_many({filename: resources}, version_info)[0]

    def write_many(self, files, version_info=None):
        """Like write() for several files ({filename: resources}), renamed into place one right
        after the other once all are written, so one reload of the server normally sees all."""
        staged = []
        for filename, resources in files.items():
            if isinstance(resources, (bytes, str)):
                data = resources.encode() if isinstance(resources, str) else resources
            else:
                doc = {"resources": list(resources)}
                if version_info is not None:
                    doc["version_info"] = str(version_info)
                data = json.dumps(doc, indent=1).encode()
            tmp = os.path.join(self.directory, f".{filename}.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            staged.append((tmp, os.path.join(self.directory, filename)))
        for tmp, path in staged:
            os.replace(tmp, path)
        return [path for _, path in staged]

    def remove(self, filename):
        os.remove(os.path.join(self.directory, filename))

    # -- process ----------------------------------------------------------------------------

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=DEFAULT_TIMEOUT):
        """Starts the server: on a kernel-chosen port the first time, on the same port after a
        stop() (retried until `timeout` while the port is still held, e.g. in TIME_WAIT)."""
        if self.alive():
            raise AssertionError("pf_xds_server is already running")
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise AssertionError(f"pf_xds_server not found or not executable: {self.binary} "
                                 f"(build it: cmake --build build --target pf_xds_server)")
        deadline = time.monotonic() + timeout
        while True:
            if self._start_once(deadline):
                return self
            if self.port is None or time.monotonic() > deadline:
                raise AssertionError(f"pf_xds_server did not start:\n{self.log_tail()}")
            time.sleep(0.05)  # the same port is still taken: try again until the deadline

    def _start_once(self, deadline):
        try:
            os.remove(self.port_file)
        except FileNotFoundError:
            pass
        argv = [self.binary, "--dir", self.directory, "--port", str(self.port or 0),
                "--port-file", self.port_file, *self.extra_args]
        with open(self.log_path, "ab") as log:
            log.write(f"=== start: {' '.join(argv)}\n".encode())
            log.flush()
            self._log_start = log.tell()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        _live.add(self)
        while True:
            if os.path.exists(self.port_file) and self._listening_logged():
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text.isdigit():
                    self.port = int(text)
                    return True
            if self.proc.poll() is not None:
                self.proc = None
                return False
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"pf_xds_server did not listen in time:\n{self.log_tail()}")
            time.sleep(0.01)

    def _listening_logged(self):
        return any(line.startswith("listening on ") for line in self._lines(self._log_start))

    def stop(self, timeout=DEFAULT_TIMEOUT):
        """SIGTERM, then waits for a clean exit (SIGKILL past `timeout`). Returns the exit
        status. The port is kept for the next start()."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        status, self.proc = self.proc.returncode, None
        _live.discard(self)
        return status

    def kill(self):
        """SIGKILL (a crashed control plane)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=DEFAULT_TIMEOUT)
        self.proc = None
        _live.discard(self)

    def reload(self):
        """SIGHUP: re-reads the directory now."""
        self.proc.send_signal(signal.SIGHUP)

    # -- log --------------------------------------------------------------------------------

    def _lines(self, start=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(start)
                data = f.read()
        except FileNotFoundError:
            return []
        # A line still being written (no newline yet) is not returned.
        return data.decode("utf-8", "replace").split("\n")[:-1]

    def mark(self):
        """A position in the log: pass it as wait_for(since=...) to look only at later lines."""
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def lines(self, regex=None, since=0):
        """Log lines (from `since` on) that match `regex` (re.search), or all of them."""
        pattern = re.compile(regex) if isinstance(regex, str) else regex
        return [l for l in self._lines(since) if pattern is None or pattern.search(l)]

    def wait_for(self, regex, timeout=DEFAULT_TIMEOUT, since=0):
        """The first log line (from `since` on) matching `regex`; AssertionError at the
        deadline, with the log tail."""
        pattern = re.compile(regex) if isinstance(regex, str) else regex
        deadline = time.monotonic() + timeout
        while True:
            for line in self._lines(since):
                if pattern.search(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no pf_xds_server log line matching {pattern.pattern!r} "
                                     f"after {timeout:.1f}s:\n{self.log_tail()}")
            time.sleep(0.02)

    def log_tail(self, lines=60):
        return "\n".join(self._lines()[-lines:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
