"""Server peak memory while receiving a large photo over tus: the server process's VmHWM, before and after."""
from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from pathlib import Path

import requests

from bench.seed import PASSWORD, bulk_register, make_app


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class RssSampler:
    """Samples a process's resident memory every few milliseconds; the peak during the upload is what counts
    (VmHWM would include the Argon2 peak of signing in, which is not what this measures)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.running = pid, 0.0, True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss_mb(self.pid))
            time.sleep(0.005)

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return self.peak


def photo_upload_peak(url: str, where: Path, size_mb: int) -> dict:
    from tests.e2e.live import LiveServer

    bulk_register(make_app(url, where), 10, 10)
    server = LiveServer(url, where / "blobs", where / "server.log")
    server.start()
    try:
        base = server.url
        proto = {"CME-Sync-Protocol": "1"}
        token = requests.post(base + "/api/devices/enrol", json={"username": "officer", "password": PASSWORD,
                                                                  "device_name": "bench"},
                              headers=proto, timeout=30).json()["device_token"]
        headers = {**proto, "Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
        data = os.urandom(size_mb * 1024 * 1024)
        digest = hashlib.sha256(data).hexdigest()
        meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                        (("sha256", digest), ("content_type", "image/jpeg"), ("filename", "notice.jpg")))
        before = _rss_mb(server.proc.pid)
        sampler = RssSampler(server.proc.pid)
        created = requests.post(base + "/api/uploads", headers={**headers, "Upload-Length": str(len(data)),
                                                                "Upload-Metadata": meta}, timeout=30)
        created.raise_for_status()
        location = requests.compat.urljoin(base, created.headers["Location"])
        chunk = 8 * 1024 * 1024
        for offset in range(0, len(data), chunk):
            resp = requests.patch(location, data=data[offset:offset + chunk], timeout=120, headers={
                **headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
            resp.raise_for_status()
        after = sampler.stop()
    finally:
        server.stop()
    return {"before_mb": before, "after_mb": after, "growth_mb": after - before}
