"""Fast set-up for benchmarks: fresh databases and registers of any size, inserted in bulk."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from server.adapters.access_models import User
from server.adapters.db import normalise_url
from server.adapters.migrate import upgrade
from server.adapters.models import Assignment, Case, CaseChange
from server.app import create_app
from server.service.security import hash_password

PASSWORD = "benchmark-password"
CHUNK = 5_000


def fresh_database(pg_url: str | None, where: Path) -> str:
    """A migrated empty database: a SQLite file under `where`, or a new schema on PostgreSQL."""
    where.mkdir(parents=True, exist_ok=True)
    if not pg_url:
        url = f"sqlite:///{where / 'bench.sqlite3'}"
    else:
        schema = f"cme_bench_{uuid.uuid4().hex[:8]}"
        engine = create_engine(normalise_url(pg_url))
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = f"{normalise_url(pg_url)}?options=-csearch_path%3D{schema}"
    upgrade(url)
    return url


def drop_database(url: str) -> None:
    """Drop a benchmark's PostgreSQL schema (SQLite files go with their temporary folder)."""
    if "search_path%3D" not in url:
        return
    schema = url.rsplit("search_path%3D", 1)[1]
    engine = create_engine(url.split("?", 1)[0])
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def make_app(url: str, where: Path):
    return create_app({"DATABASE_URL": url, "BLOB_DIR": str(where / "blobs")})


def bulk_register(app, size: int, caseload: int) -> int:
    """`size` cases (one change each), the first `caseload` assigned to one officer. Returns the officer id."""
    engine = app.extensions["cme"]["engine"]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        ids = conn.execute(insert(User).returning(User.id), [
            {"username": n, "display_name": n, "role": r, "password_hash": hash_password(PASSWORD),
             "active": True, "created_at": now} for n, r in (("officer", "officer"), ("lead", "supervisor"))]).all()
        officer, lead = ids[0][0], ids[1][0]
        for start in range(1, size + 1, CHUNK):
            rows = range(start, min(start + CHUNK, size + 1))
            conn.execute(insert(Case), [_case(i, now) for i in rows])
            conn.execute(insert(CaseChange), [{"case_id": i, "version": 1, "at": now, "actor_id": lead,
                                               "kind": "created", "fields": []} for i in rows])
        conn.execute(insert(Assignment), [{"case_id": i, "officer_id": officer, "assigned_by": lead,
                                           "created_at": now} for i in range(1, caseload + 1)])
        conn.execute(insert(CaseChange), [{"case_id": i, "version": 2, "at": now, "actor_id": lead,
                                           "kind": "assigned", "fields": ["assignments"]}
                                          for i in range(1, caseload + 1)])
        conn.execute(text("UPDATE cases SET version = 2 WHERE id <= :n"), {"n": caseload})
    return officer


def _case(i: int, now: datetime) -> dict:
    return {"id": i, "reference": f"CME-B-{i:07d}", "version": 1, "status": "open", "created_at": now,
            "updated_at": now, "first_name": f"Bench{i}", "last_name": "Fictional", "dob": date(2015, 1, 1),
            "eal": False, "fsm": False, "sen_status": "none", "cp": False, "cin": False, "cic": False,
            "risk_factors": [], "vulnerable_groups": [], "address_line1": f"{i} Benchmark Row",
            "address_town": "Fictown", "address_postcode": "ZZ1 1AA"}


def sync_headers(client) -> dict:
    resp = client.post("/api/devices/enrol", json={"username": "officer", "password": PASSWORD,
                                                     "device_name": "bench"}, headers={"CME-Sync-Protocol": "1"})
    token = resp.get_json()["device_token"]
    return {"CME-Sync-Protocol": "1", "Authorization": f"Bearer {token}"}


def seed_officers(url: str, officers: int, cases_each: int) -> list[tuple[str, str]]:
    """`officers` officers with `cases_each` assigned cases each; returns (username, password) pairs."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    digest = hash_password(PASSWORD)  # one hash for all: Argon2 is slow on purpose
    names = [f"officer{i:03d}" for i in range(officers)]
    with engine.begin() as conn:
        lead = conn.execute(insert(User).returning(User.id), [{"username": "lead", "display_name": "lead",
                            "role": "supervisor", "password_hash": digest, "active": True,
                            "created_at": now}]).scalar_one()
        ids = conn.execute(insert(User).returning(User.id), [
            {"username": n, "display_name": n, "role": "officer", "password_hash": digest, "active": True,
             "created_at": now} for n in names]).scalars().all()
        total = officers * cases_each
        conn.execute(insert(Case), [{**_case(i, now), "version": 2} for i in range(1, total + 1)])
        conn.execute(insert(CaseChange), [{"case_id": i, "version": v, "at": now, "actor_id": lead,
                                           "kind": k, "fields": []}
                                          for i in range(1, total + 1) for v, k in ((1, "created"), (2, "assigned"))])
        conn.execute(insert(Assignment), [{"case_id": i, "officer_id": ids[(i - 1) // cases_each],
                                           "assigned_by": lead, "created_at": now} for i in range(1, total + 1)])
    if engine.dialect.name == "postgresql":  # ids were given explicitly: move the sequences on
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    engine.dispose()
    return [(n, PASSWORD) for n in names]
