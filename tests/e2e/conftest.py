"""End-to-end fixtures: the server as a real process on loopback, the field client as its own process."""
from __future__ import annotations

import pytest

from .live import FaultProxy, LiveServer


@pytest.fixture
def live_server(database_url, accounts, tmp_path):
    """Users exist (the `accounts` fixture) before the server process starts on the same database."""
    server = LiveServer(database_url, tmp_path / "blobs", tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def proxy(live_server):
    p = FaultProxy(live_server.url)
    yield p
    p.close()
