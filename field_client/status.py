"""The device status `cme-field status` shows: device, sync times, lock, queues, and the server's verdicts.

No case data is included (only ids, counts and verdicts), so it is available while the device is locked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from field_client import photos, state
from field_client.store import Store


def device_status(store: Store, leaving: list[int], locked: bool, now: datetime) -> dict[str, Any]:
    get = store.state.get
    last_pull = state.parse_time(get(state.LAST_PULL_AT))
    uploads = photos.entries(store)
    return {
        "server": get(state.SERVER_URL), "device_id": get(state.DEVICE_ID),
        "device_name": get(state.DEVICE_NAME), "officer_id": get(state.OFFICER_ID),
        "last_sync": get(state.LAST_SYNC_AT), "last_contact": get(state.LAST_CONTACT),
        "cursor_age_seconds": int((now - last_pull).total_seconds()) if last_pull else None,
        "offline_ttl_seconds": get(state.OFFLINE_TTL), "locked": locked,
        "held_cases": len(store.records.ids_and_versions(state.CASES)), "leaving": leaving,
        "pending_ops": len(store.outbox.pending()),
        "pending_photos": sum(1 for entry in uploads.values() if not entry["done"]),
        "photo_errors": [entry["error"] for entry in uploads.values() if entry.get("error")],
        "results": get(state.RESULTS, []),
    }
