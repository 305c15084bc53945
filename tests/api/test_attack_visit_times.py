"""Attack (or a wrong device clock): a pushed visit or address check dated after the server received it, or before
the case was referred (issue 7 item 13). The fact is applied, since it is the officer's word, but it is flagged
for a supervisor (review category `flagged`, reason `implausible_time`), never taken silently.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.helpers import assign, child, create_case
from tests.sync_helpers import enrol, now, push, visit_op

REFERRAL = {"source": "school", "route": "form", "situation": "left_school_no_forwarding_school"}


def at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def check_op(case_id: int, checked_at: str) -> dict:
    return {"op_id": str(uuid.uuid4()), "kind": "record_address_check", "case_id": case_id, "device_time": now(),
            "payload": {"checked_at": checked_at, "source": "council_tax", "result": "confirmed_at_address"}}


def flagged_items(client, sup) -> dict[str, dict]:
    return {i["op_id"]: i for i in client.get("/api/review", headers=sup.headers).get_json()
            if i["category"] == "flagged"}


def setup(client, accounts, **case_fields):
    sup = accounts["supervisor"]
    case = create_case(client, sup, **case_fields)
    assign(client, sup, case["id"], accounts["officer"].id)
    return sup, case, enrol(client, "officer")


def test_a_visit_dated_after_it_was_received_is_applied_and_flagged(client, accounts):
    sup, case, device = setup(client, accounts)
    future = visit_op(case["id"], visited_at=at(timedelta(hours=3)))
    check = check_op(case["id"], at(timedelta(days=2)))
    results = push(client, device, [future, check])
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert [r["result"]["flagged"] for r in results] == ["implausible_time"] * 2
    items = flagged_items(client, sup)
    assert set(items) == {future["op_id"], check["op_id"]}
    assert all(i["reason"] == "implausible_time" and "after the server received it" in i["detail"]
               for i in items.values())
    enquiries = client.get(f"/api/cases/{case['id']}/enquiries", headers=sup.headers).get_json()
    assert {e["op_id"]: e["flagged"] for e in enquiries} == {future["op_id"]: "implausible_time",
                                                             check["op_id"]: "implausible_time"}


def test_a_visit_dated_before_the_case_was_referred_is_applied_and_flagged(client, accounts):
    sup, case, device = setup(client, accounts)
    early = visit_op(case["id"], visited_at=at(-timedelta(days=30)))
    result = push(client, device, [early])[0]
    assert result["status"] == "applied" and result["result"]["flagged"] == "implausible_time"
    item = flagged_items(client, sup)[early["op_id"]]
    assert "before the case was referred or created" in item["detail"] and item["case_id"] == case["id"]


def test_plausible_times_are_not_flagged_within_the_skew_or_after_an_earlier_referral(client, accounts):
    sup = accounts["supervisor"]
    referred = client.post("/api/referrals", json={**REFERRAL, "child": child(),
                                                   "received_at": at(-timedelta(days=60))},
                           headers=sup.headers).get_json()
    assign(client, sup, referred["case_id"], accounts["officer"].id)
    device = enrol(client, "officer")
    ops = [visit_op(referred["case_id"], visited_at=at(-timedelta(days=30))),  # after the referral was received
           visit_op(referred["case_id"], visited_at=at(timedelta(minutes=5))),  # a device clock a little fast
           visit_op(referred["case_id"])]
    results = push(client, device, ops)
    assert [r["status"] for r in results] == ["applied"] * 3
    assert not any("flagged" in r["result"] for r in results)
    assert flagged_items(client, sup) == {}


def test_a_supervisor_clears_the_flag_by_accepting_it(client, accounts):
    sup, case, device = setup(client, accounts)
    future = visit_op(case["id"], visited_at=at(timedelta(days=1)))
    push(client, device, [future])
    item = flagged_items(client, sup)[future["op_id"]]
    resolved = client.post(f"/api/review/{item['id']}/resolve", json={"decision": "accept"}, headers=sup.headers)
    assert resolved.status_code == 200 and resolved.get_json()["open"] is False
    enquiries = client.get(f"/api/cases/{case['id']}/enquiries", headers=sup.headers).get_json()
    assert len(enquiries) == 1  # accepting a flag records nothing twice
