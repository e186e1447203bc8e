#!/usr/bin/env python3
"""Process lifecycle: readiness, SIGTERM drain (in-flight requests finish, new connections are
turned away, the process exits by itself), and start-up failure on a taken port."""

import signal
import socket
import threading
import time

import harness as h

DRAIN_S = 3
EXIT_MARGIN_S = 5


class LifecycleTest(h.ProxyTestCase):
    def test_admin_ready_reports_live(self):
        echo = self.start_echo("ready")
        proxy = self.start_proxy(h.simple_bootstrap(echo.port))
        r = h.http_request(proxy.admin_port, "GET", "/ready")
        self.assertStatus(r, 200)
        self.assertEqual(r.body.strip(), b"LIVE")

    def test_flags_log_level_and_concurrency(self):
        echo = self.start_echo("flags")
        proxy = self.start_proxy(h.simple_bootstrap(echo.port), args=["-l", "debug"],
                                 concurrency=1)
        r = h.raw_request(proxy.port(), h.build_request("GET", "/flags"))
        self.assertStatus(r, 200)

    def test_listener_serves_as_soon_as_it_accepts(self):
        # Envoy binds listeners early but only serves them once clusters are initialised, so a
        # client that connects the moment the port accepts still reaches a STATIC cluster.
        # The race is short, so try several fresh processes.
        echo = self.start_echo("early")
        for i in range(20):
            proxy = self.start_proxy(h.simple_bootstrap(echo.port), label=f"pilotfish{i}",
                                     admin_ready=False)
            for j in range(3):
                r = h.raw_request(proxy.port(), h.build_request("GET", f"/early/{i}/{j}"))
                self.assertStatus(r, 200)
                self.assertEqual(r.json()["path"], f"/early/{i}/{j}")
            proxy.expect_exit = True
            proxy.kill()

    def new_connection_turned_away(self, port):
        """True if a new client is refused, reset, closed without a response, or answered with
        Connection: close and then closed (a draining listener)."""
        try:
            c = h.RawConn(port, timeout=2)
        except socket.timeout:
            return False
        except OSError:  # refused, reset, aborted
            return True
        with c:
            try:
                c.send(h.build_request("GET", "/after-sigterm"))
                r = c.read_response(timeout=2)
            except (h.ProtocolError, ConnectionResetError, BrokenPipeError):
                return True
            except socket.timeout:
                return False  # accepted but never answered: the listener is neither open nor shut
            if (r.header("connection") or "").lower() != "close":
                return False
            closed, _ = c.wait_closed(timeout=2)
            return closed

    def test_sigterm_drains_inflight_request_then_exits(self):
        echo = self.start_echo("drain")
        proxy = self.start_proxy(h.simple_bootstrap(echo.port),
                                 args=["--drain-time-s", str(DRAIN_S)])
        port = proxy.port()
        result = {}

        def client():
            try:
                with h.RawConn(port, timeout=20) as c:
                    c.send(h.build_request("GET", "/delay/2000"))
                    result["resp"] = c.read_response()
            except Exception as e:  # noqa: BLE001 - reported below
                result["error"] = repr(e)

        t = threading.Thread(target=client, daemon=True)
        t.start()
        h.poll_until(lambda: echo.counters()["requests_total"] >= 1, timeout=5,
                     what="the slow request to reach the upstream")
        self.assertTrue(t.is_alive(), f"request finished too early: {result}")

        proxy.expect_exit = True
        signalled = time.monotonic()
        proxy.send_signal(signal.SIGTERM)

        h.poll_until(lambda: self.new_connection_turned_away(port), timeout=DRAIN_S + 2,
                     interval=0.1, what="new connections to be refused or closed after SIGTERM")
        self.assertTrue(t.is_alive() or "resp" in result,
                        f"in-flight request failed during drain: {result}{self.diag()}")

        t.join(timeout=15)
        self.assertFalse(t.is_alive(), "in-flight request never finished")
        self.assertNotIn("error", result, f"{result}{self.diag()}")
        self.assertStatus(result["resp"], 200)
        self.assertEqual(result["resp"].json()["path"], "/delay/2000")

        left = DRAIN_S + EXIT_MARGIN_S - (time.monotonic() - signalled)
        rc = proxy.wait_exit(timeout=max(left, 0.1))
        self.assertIsNotNone(rc, f"pilotfish still running {DRAIN_S + EXIT_MARGIN_S}s after "
                                 f"SIGTERM with --drain-time-s {DRAIN_S}{self.diag()}")
        self.assertEqual(rc, 0, f"exit status after SIGTERM{self.diag()}")

    def test_sigterm_when_idle_exits_cleanly(self):
        echo = self.start_echo("idle")
        proxy = self.start_proxy(h.simple_bootstrap(echo.port),
                                 args=["--drain-time-s", str(DRAIN_S)])
        self.assertStatus(h.raw_request(proxy.port(), h.build_request("GET", "/")), 200)
        proxy.expect_exit = True
        proxy.send_signal(signal.SIGTERM)
        rc = proxy.wait_exit(timeout=DRAIN_S + EXIT_MARGIN_S)
        self.assertIsNotNone(rc, f"pilotfish did not exit after SIGTERM{self.diag()}")
        self.assertEqual(rc, 0, self.diag())
        self.assertFalse(h.can_connect(proxy.port()), "listener still accepting after exit")

    def test_listener_port_in_use_fails_startup(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        taken = blocker.getsockname()[1]
        boot = h.simple_bootstrap(h.free_port())
        config = h.write_config(self.tmpdir, "taken.yaml",
                                boot.render({"http": taken}, h.free_port()))
        rc, out = h.run_pilotfish(["-c", config, "--concurrency", "1"], timeout=20)
        self.assertEqual(rc, 1, f"expected exit 1 when the listener port is taken:\n{out}")
        self.assertTrue("in use" in out.lower() or str(taken) in out,
                        f"message should name the address or the error:\n{out}")


if __name__ == "__main__":
    h.main()
