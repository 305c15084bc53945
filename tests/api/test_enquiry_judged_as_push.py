"""One judge per fact: a home visit or an address check recorded over HTTP gets the verdict the sync rules give
the same fact pushed from a device (`sync.ops.judge_fact`, the judge `validate_payload` uses)."""
from __future__ import annotations

import uuid

import pytest

from sync.ops import Op, validate_payload
from tests.helpers import assign, create_case

WHEN = "2026-11-03T09:15:00+00:00"
ADDRESS = {"line1": "7 Elsewhere Road", "town": "Fictown", "postcode": "ME4 4TR"}

# (HTTP body, the same fact as an op payload, the field both name when refused, or None when both accept)
CASES = [
    ({"kind": "home_visit", "outcome": "new_address_obtained"},
     {"outcome": "new_address_obtained"}, "new_address"),
    ({"kind": "home_visit", "outcome": "new_address_obtained", "new_address": ADDRESS},
     {"outcome": "new_address_obtained", "new_address": ADDRESS}, None),
    ({"kind": "home_visit", "outcome": "new_address_obtained", "new_address": {**ADDRESS, "town": None}},
     {"outcome": "new_address_obtained", "new_address": {**ADDRESS, "town": None}}, "new_address.town"),
    ({"kind": "home_visit", "outcome": "child_seen", "new_address": {**ADDRESS, "postcode": "ZZ2 2BB"}},
     {"outcome": "child_seen", "new_address": {**ADDRESS, "postcode": "ZZ2 2BB"}}, "new_address.postcode"),
    ({"kind": "home_visit", "outcome": "family_spoken_to", "person_spoken_to": "aunt\nand uncle"},
     {"outcome": "family_spoken_to", "person_spoken_to": "aunt\nand uncle"}, "person_spoken_to"),
    ({"kind": "home_visit", "outcome": "no_answer", "notes": "n" * 4001},
     {"outcome": "no_answer", "notes": "n" * 4001}, "notes"),
    ({"kind": "home_visit", "outcome": "no_answer", "notes": "left a card\nwill return"},
     {"outcome": "no_answer", "notes": "left a card\nwill return"}, None),
    ({"kind": "address_check", "source": "council_tax"},
     {"source": "council_tax"}, "outcome"),
    ({"kind": "address_check", "source": "council_tax", "outcome": "new_address_found"},
     {"source": "council_tax", "result": "new_address_found"}, "new_address"),
    ({"kind": "address_check", "source": "council_tax", "outcome": "not_at_address"},
     {"source": "council_tax", "result": "not_at_address"}, None),
]


@pytest.fixture
def officer_case(client, accounts) -> int:
    case = create_case(client, accounts["supervisor"])
    assign(client, accounts["supervisor"], case["id"], accounts["officer"].id)
    return case["id"]


def pushed_verdict(kind: str, payload: dict, case_id: int) -> str | None:
    op_kind, at = ("record_home_visit", "visited_at") if kind == "home_visit" else ("record_address_check",
                                                                                    "checked_at")
    op = Op(str(uuid.uuid4()), op_kind, case_id, WHEN, {at: WHEN, **payload})
    fields = [p.field.removeprefix("payload.") for p in validate_payload(op)]
    return {"result": "outcome"}.get(fields[0], fields[0]) if fields else None


@pytest.mark.parametrize(("body", "payload", "field"), CASES, ids=[str(c[2]) for c in CASES])
def test_http_enquiry_gets_the_push_verdict(client, accounts, officer_case, body, payload, field):
    assert pushed_verdict(body["kind"], payload, officer_case) == field
    resp = client.post(f"/api/cases/{officer_case}/enquiries", json={**body, "occurred_at": WHEN},
                       headers=accounts["officer"].headers)
    if field is None:
        assert resp.status_code == 201, resp.get_json()
    else:
        assert resp.status_code == 422 and resp.get_json()["field"] == field, resp.get_json()


def test_home_visit_new_address_obtained_without_address_is_422_not_201(client, accounts, officer_case):
    """The issue's case: accepted over HTTP (201) while the same visit pushed was quarantined."""
    url = f"/api/cases/{officer_case}/enquiries"
    resp = client.post(url, json={"kind": "home_visit", "outcome": "new_address_obtained"},
                       headers=accounts["officer"].headers)
    assert resp.status_code == 422 and resp.get_json()["field"] == "new_address"
    assert client.get(url, headers=accounts["officer"].headers).get_json() == []


def test_partner_check_address_is_still_judged(client, accounts, officer_case):
    resp = client.post(f"/api/cases/{officer_case}/enquiries", headers=accounts["officer"].headers,
                       json={"kind": "partner_check", "source": "police", "new_address": {"line1": "x"}})
    assert resp.status_code == 422 and resp.get_json()["field"] == "new_address.postcode"
