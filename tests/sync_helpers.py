"""Builders for sync tests: enrol a device, make ops, call the sync endpoints."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.conftest import PASSWORD

PROTOCOL = {"CME-Sync-Protocol": "1"}


def enrol(client, username: str, device_name: str = "test tablet") -> dict:
    resp = client.post("/api/devices/enrol", json={"username": username, "password": PASSWORD,
                                                     "device_name": device_name}, headers=PROTOCOL)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    body["headers"] = {**PROTOCOL, "Authorization": f"Bearer {body['device_token']}"}
    return body


def now() -> str:
    return datetime.now(UTC).isoformat()


def visit_op(case_id: int, outcome: str = "no_answer", op_id: str | None = None, **payload) -> dict:
    return {"op_id": op_id or str(uuid.uuid4()), "kind": "record_home_visit", "case_id": case_id,
            "device_time": now(), "payload": {"visited_at": now(), "outcome": outcome, **payload}}


def edit_op(case_id: int, base_version: int, changes: dict) -> dict:
    return {"op_id": str(uuid.uuid4()), "kind": "propose_case_change", "case_id": case_id, "device_time": now(),
            "base_version": base_version, "payload": {"changes": changes}}


def pull_all(client, device: dict, cursor: str | None = None, limit: int = 100) -> tuple[dict, list[dict]]:
    """Pull until no more; returns the last response and every page."""
    pages = []
    while True:
        query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        resp = client.get("/api/sync/pull", query_string=query, headers=device["headers"])
        assert resp.status_code == 200, resp.get_json()
        page = resp.get_json()
        pages.append(page)
        cursor = page["cursor"]
        if not page["more"]:
            return page, pages


def push(client, device: dict, ops: list[dict]) -> list[dict]:
    resp = client.post("/api/sync/push", json={"ops": ops}, headers=device["headers"])
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["results"]
