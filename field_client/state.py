"""Names of what the field client keeps in its encrypted store, in one place.

State keys (`store.state.set` / `store.state.get`, each value sealed like every record):
    server_url, device_id, device_token, officer_id, device_name, enrolled_at   set once by `enrol`
    offline_ttl_seconds   from enrolment and every pull page (the server governs it)
    last_contact          UTC ISO time of the last successful sync (the offline time-to-live counts from it)
    cursor                the pull cursor; written in the same transaction as the page it covers
    last_pull_at          UTC ISO time the cursor last advanced (for "cursor age")
    last_sync_at          UTC ISO time of the last complete sync
    leaving               case ids the server removed from scope that still have unsent ops
    uploads               photo op id -> tus upload progress (see field_client.photos)
    results               the server's notable verdicts (clash, conflicts, quarantines), newest last, bounded

Record tables (`store.records.put` / `get` / `list`):
    cases    str(case id) -> snapshot (schemas.CaseSnapshotSchema dump), version = case version
    visits   visit op id -> {"case_id", "visited_at"}, so a photo can be attached to a visit later
"""

from __future__ import annotations

from datetime import datetime, timezone

SERVER_URL = "server_url"
DEVICE_ID = "device_id"
DEVICE_TOKEN = "device_token"
OFFICER_ID = "officer_id"
DEVICE_NAME = "device_name"
ENROLLED_AT = "enrolled_at"
OFFLINE_TTL = "offline_ttl_seconds"
LAST_CONTACT = "last_contact"
CURSOR = "cursor"
LAST_PULL_AT = "last_pull_at"
LAST_SYNC_AT = "last_sync_at"
LEAVING = "leaving"
UPLOADS = "uploads"
RESULTS = "results"
CHECKED = "checked"  # the holdings digest and the fingerprint of the rows it was computed from (engine)

CASES = "cases"
VISITS = "visits"

MAX_RESULTS = 200


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def local_now() -> datetime:
    """Now in the device's local time zone, with its UTC offset (ops carry device time with offset)."""
    return datetime.now(timezone.utc).astimezone()
