"""A real server process on loopback, and a fault-injecting HTTP proxy to put between it and the client."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`cme-server serve` as its own process, stoppable and restartable on the same port and database."""

    def __init__(self, database_url: str, blob_dir: Path, log_path: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "DATABASE_URL": database_url, "CME_BLOB_DIR": str(blob_dir),
                    "CME_INSTANCE_PATH": str(blob_dir.parent / "instance")}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)]

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                requests.get(self.url + "/api/openapi.json", timeout=1)
                return
            except (requests.ConnectionError, requests.Timeout):  # gunicorn listens before its workers boot
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class GunicornServer(LiveServer):
    """The server as production runs it: gunicorn with the repository's gunicorn.conf.py, plus `overrides`
    (command-line settings, e.g. a short --timeout so a test can outlast it quickly)."""

    def __init__(self, database_url: str, blob_dir: Path, log_path: Path, *overrides: str) -> None:
        super().__init__(database_url, blob_dir, log_path)
        self.overrides = list(overrides)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{self.port}", *self.overrides]

    def stop(self) -> None:
        """Quick shutdown (SIGINT): a test does not wait out the graceful period."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(10)
        self.proc = None


class Seen(tuple):
    """One request that reached the proxy: unpacks as (method, path, request body size), as it always did;
    `.headers` holds the request headers; `.status` and `.reply_headers` what was sent back (None and {} when
    the request was refused or its answer lost)."""

    headers: dict[str, str]
    status: int | None
    reply_headers: dict[str, str]

    def __new__(cls, method: str, path: str, size: int, headers: dict[str, str]) -> "Seen":
        seen = super().__new__(cls, (method, path, size))
        seen.headers, seen.status, seen.reply_headers = headers, None, {}
        return seen


class FaultProxy:
    """Forwards HTTP to a target; rules can swallow a response (the server did the work, the client never
    hears), refuse a request outright, answer it with a status of the proxy's own (as a gateway would),
    or hold a response back for a while (a slow link). Records what passed through in `seen`."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.rules: list[dict] = []
        self.delays: list[dict] = []
        self.seen: list[Seen] = []  # each unpacks as (method, path, request body size)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def lose_response(self, method: str, path_prefix: str, times: int = 1, after: int = 0) -> None:
        """The next `times` matching requests reach the server but their answers are dropped; the first
        `after` matching requests pass untouched."""
        self._add(method, path_prefix, times, after, action="lose")

    def refuse(self, method: str, path_prefix: str, times: int = 1, after: int = 0) -> None:
        """The next `times` matching requests never reach the server (the connection is closed)."""
        self._add(method, path_prefix, times, after, action="refuse")

    def reply(self, method: str, path_prefix: str, status: int, times: int = 1, after: int = 0) -> None:
        """The proxy answers the next `times` matching requests itself with `status` (e.g. a gateway's 413)."""
        self._add(method, path_prefix, times, after, action="reply", status=status)

    def delay(self, method: str, path_prefix: str, seconds: float, times: int | None = None) -> None:
        """Hold the answer to matching requests for `seconds` after the server gave it (all of them, or the
        next `times`)."""
        with self._lock:
            self.delays.append({"method": method, "prefix": path_prefix, "seconds": seconds, "times": times})

    def clear(self) -> None:
        """Drop every rule and delay; requests pass straight through again."""
        with self._lock:
            self.rules.clear()
            self.delays.clear()

    def requests_to(self, method: str, path_prefix: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s[0] == method and s[1].startswith(path_prefix)]

    def _add(self, method: str, path_prefix: str, times: int, after: int, **rule) -> None:
        with self._lock:
            self.rules.append({"method": method, "prefix": path_prefix, "times": times, "after": after, **rule})

    def _take_rule(self, method: str, path: str) -> dict | None:
        with self._lock:
            for rule in self.rules:
                if rule["times"] > 0 and rule["method"] == method and path.startswith(rule["prefix"]):
                    if rule.get("after", 0) > 0:
                        rule["after"] -= 1
                        continue
                    rule["times"] -= 1
                    return rule
            return None

    def _take_delay(self, method: str, path: str) -> float:
        with self._lock:
            for rule in self.delays:
                if rule["method"] == method and path.startswith(rule["prefix"]) and rule["times"] != 0:
                    if rule["times"] is not None:
                        rule["times"] -= 1
                    return rule["seconds"]
            return 0.0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _drop(self) -> None:
                self.close_connection = True
                self.connection.close()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                seen = Seen(self.command, self.path, length, dict(self.headers.items()))
                with proxy._lock:
                    proxy.seen.append(seen)
                rule = proxy._take_rule(self.command, self.path)
                action = rule["action"] if rule else None
                if action == "refuse":
                    return self._drop()
                if action == "reply":
                    seen.status = rule["status"]
                    self.send_response(rule["status"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                try:
                    resp = requests.request(self.command, proxy.target + self.path, data=body, headers=headers,
                                            timeout=60, allow_redirects=False)
                except requests.RequestException:  # the server is down: the client sees the link drop
                    return self._drop()
                if action == "lose":  # the server has done the work; the client never hears back
                    return self._drop()
                pause = proxy._take_delay(self.command, self.path)
                if pause:
                    time.sleep(pause)
                seen.status, seen.reply_headers = resp.status_code, dict(resp.headers)
                try:
                    self.send_response(resp.status_code)
                    for k, v in resp.headers.items():
                        if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                             "content-encoding"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(resp.content)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(resp.content)
                except OSError:  # the client went away meanwhile (e.g. it was killed)
                    self.close_connection = True
                return None

            do_GET = do_POST = do_PATCH = do_HEAD = do_DELETE = do_OPTIONS = do_PUT = _forward

        return Handler
