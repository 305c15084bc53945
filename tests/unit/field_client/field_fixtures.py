"""Fixtures for field-client tests: a cheap store, the fake server, a controllable clock, an engine wired to both.

Import the fixtures you use by name into the test module.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from field_client import state
from field_client.engine import SyncEngine
from field_client.photos import ChunkSizer
from field_client.store import Store
from field_client.transport import Transport
from tests.unit.field_client.fake_sync_server import BASE, TOKEN, FakeServer

PASS = "tidal marmalade lantern quiver"
CHEAP_N = 2**10
START = datetime(2025, 6, 2, 9, 30, tzinfo=timezone(timedelta(hours=1)))


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def enrol_store(store: Store, clock: Clock, ttl: int = 3600) -> None:
    for key, value in {state.SERVER_URL: BASE, state.DEVICE_ID: 11, state.DEVICE_TOKEN: TOKEN,
                       state.OFFICER_ID: 5, state.DEVICE_NAME: "test tablet", state.OFFLINE_TTL: ttl,
                       state.LAST_CONTACT: state.utc_iso(clock())}.items():
        store.state.set(key, value)


def make_transport(server: FakeServer, sleeps: list[float] | None = None, attempts: int = 4) -> Transport:
    record = sleeps.append if sleeps is not None else (lambda _: None)
    return Transport(BASE, TOKEN, session=server.session(), sleep=record, attempts=attempts, rng=random.Random(7))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def store(tmp_path: Path, clock: Clock):
    opened = Store.create(tmp_path / "store", PASS, kdf_n=CHEAP_N, chunk_size=1024)
    enrol_store(opened, clock)
    yield opened
    opened.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def engine(store: Store, server: FakeServer, clock: Clock, sleeps: list[float]) -> SyncEngine:
    made = SyncEngine(store, make_transport(server, sleeps), clock=clock, sleep=sleeps.append, rng=random.Random(3))
    made.uploader.sizer = ChunkSizer(first=1024, lowest=1024, highest=1024)  # many chunks from a small photo
    return made
