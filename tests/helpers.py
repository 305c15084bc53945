"""Small builders shared by the API and integration tests."""
from __future__ import annotations

from datetime import date

CHILD = {
    "first_name": "Zebedee", "last_name": "Quillfeather", "dob": "2016-03-14",
    "current_address": {"line1": "14 Nowhere Crescent", "town": "Fictown", "postcode": "ZZ1 1AA"},
    "carers": [{"name": "Marigold Quillfeather", "relationship": "mother", "parental_responsibility": True,
                "phone": "07700 900123"}],
    "last_school_name": "Fictown Primary", "first_day_of_absence": "2026-11-02",
}


def child(**overrides) -> dict:
    return {**CHILD, **overrides}


def create_case(client, account, **overrides) -> dict:
    resp = client.post("/api/cases", json=child(**overrides), headers=account.headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def assign(client, supervisor, case_id: int, officer_id: int) -> dict:
    resp = client.post("/api/assignments", json={"case_id": case_id, "officer_id": officer_id,
                                                  "due": date.today().isoformat()}, headers=supervisor.headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def transition(client, account, case_id: int, **body):
    return client.post(f"/api/cases/{case_id}/transitions", json=body, headers=account.headers)
