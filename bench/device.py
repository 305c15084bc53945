"""A field device for benchmarks: the officer's encrypted store, transport and sync engine, in process."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from field_client import state
from field_client.engine import SyncEngine
from field_client.store import Store
from field_client.transport import Transport


class Device:
    """Enrols against `base_url` and syncs exactly as `cme-field enrol` and `cme-field sync` do."""

    def __init__(self, base_url: str, home: Path, username: str, password: str, passphrase: str) -> None:
        self.store = Store.create(home, passphrase)
        enrolling = Transport(base_url, session=requests.Session(), allow_insecure=True)
        answer = enrolling.enrol(username, password, "bench")
        now = state.utc_iso(state.local_now())
        with self.store.transaction():
            for key, value in {state.SERVER_URL: base_url, state.DEVICE_ID: answer["device_id"],
                               state.DEVICE_TOKEN: answer["device_token"], state.OFFICER_ID: answer["officer_id"],
                               state.DEVICE_NAME: "bench", state.ENROLLED_AT: now,
                               state.OFFLINE_TTL: int(answer["offline_ttl_seconds"]),
                               state.LAST_CONTACT: now}.items():
                self.store.state.set(key, value)
        transport = Transport(base_url, answer["device_token"], session=requests.Session(), allow_insecure=True)
        self.engine = SyncEngine(self.store, transport)

    def sync(self) -> Any:
        return self.engine.sync()

    def cases(self) -> list[dict[str, Any]]:
        return self.engine.cases()

    def close(self) -> None:
        self.store.close()
