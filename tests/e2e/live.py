"""A real server process on loopback, and a fault-injecting HTTP proxy to put between it and the client."""
from __future__ import annotations

import os
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

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
                                     cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                requests.get(self.url + "/api/openapi.json", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class FaultProxy:
    """Forwards HTTP to a target; rules can swallow a response (the server did the work, the client never
    hears) or refuse a request outright. Counts what passed through."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.rules: list[dict] = []
        self.seen: list[tuple[str, str, int]] = []  # method, path, request body size
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def lose_response(self, method: str, path_prefix: str, times: int = 1) -> None:
        self.rules.append({"method": method, "prefix": path_prefix, "times": times, "action": "lose"})

    def refuse(self, method: str, path_prefix: str, times: int = 1) -> None:
        self.rules.append({"method": method, "prefix": path_prefix, "times": times, "action": "refuse"})

    def _take_rule(self, method: str, path: str) -> str | None:
        for rule in self.rules:
            if rule["times"] > 0 and rule["method"] == method and path.startswith(rule["prefix"]):
                rule["times"] -= 1
                return rule["action"]
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen.append((self.command, self.path, length))
                action = proxy._take_rule(self.command, self.path)
                if action == "refuse":
                    self.close_connection = True
                    self.connection.close()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                resp = requests.request(self.command, proxy.target + self.path, data=body, headers=headers,
                                        timeout=60, allow_redirects=False)
                if action == "lose":  # the server has done the work; the client never hears back
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp.content)

            do_GET = do_POST = do_PATCH = do_HEAD = do_DELETE = do_OPTIONS = do_PUT = _forward

        return Handler
