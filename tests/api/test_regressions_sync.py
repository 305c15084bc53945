"""Regressions found by the model-based sync test (tests/integration/test_sync_model.py), one test per fault."""
from tests.helpers import assign, create_case
from tests.sync_helpers import edit_op, enrol, pull_all, push

ADDRESS = {"line1": "1 Model Road", "town": "Chatham", "postcode": "ME4 4TR"}  # no line2, as a device sends it


def _held(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    page, _ = pull_all(client, device)
    return sup, case["id"], device, page["cases"][0]["version"]


def _review(client, sup, case_id: int) -> list[dict]:
    resp = client.get("/api/review", query_string={"case_id": case_id}, headers=sup.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_an_address_already_set_to_the_proposed_one_is_not_a_hard_conflict(client, accounts):
    """The server reads an address back with line2/town as null; a device leaves empty parts out. The same
    address must not be held for review as a conflict between two 'different' values."""
    sup, case_id, device, base = _held(client, accounts)
    resp = client.patch(f"/api/cases/{case_id}", json={"current_address": ADDRESS},
                        headers={**sup.headers, "If-Match": f'"{base}"'})
    assert resp.status_code == 200
    result = push(client, device, [edit_op(case_id, base, {"current_address": ADDRESS})])[0]
    assert result["status"] == "applied", result
    assert not result.get("hard_fields")
    assert _review(client, sup, case_id) == []


def test_a_different_address_is_still_a_hard_conflict(client, accounts):
    sup, case_id, device, base = _held(client, accounts)
    client.patch(f"/api/cases/{case_id}", json={"current_address": ADDRESS},
                 headers={**sup.headers, "If-Match": f'"{base}"'})
    other = {**ADDRESS, "line1": "2 Model Road"}
    result = push(client, device, [edit_op(case_id, base, {"current_address": other})])[0]
    assert result["status"] == "conflict_hard"
    server_value, device_value = result["hard_fields"]["current_address"]
    assert device_value == other and server_value["line1"] == "1 Model Road"


def test_a_devices_second_edit_of_a_field_does_not_conflict_with_its_own_first(client, accounts):
    """Offline, the officer sets a phone number, then corrects it: both edits carry the version the device
    held. The correction was made knowing the first value, so it applies; it is not a conflict for review."""
    sup, case_id, device, base = _held(client, accounts)
    first, second = (edit_op(case_id, base, {"contact_phone": phone}) for phone in ("01632 960001", "01632 960002"))
    results = push(client, device, [first, second])
    assert [r["status"] for r in results] == ["applied", "applied"], results
    case = client.get(f"/api/cases/{case_id}", headers=sup.headers).get_json()
    assert case["contact_phone"] == "01632 960002"
    assert _review(client, sup, case_id) == []


def test_own_earlier_edit_of_another_field_is_no_soft_conflict_either(client, accounts):
    sup, case_id, device, base = _held(client, accounts)
    results = push(client, device, [edit_op(case_id, base, {"contact_phone": "01632 960001"}),
                                    edit_op(case_id, base, {"contact_email": "new@example.org"})])
    assert [r["status"] for r in results] == ["applied", "applied"], results


def test_a_supervisor_edit_between_a_devices_two_edits_still_conflicts(client, accounts):
    sup, case_id, device, base = _held(client, accounts)
    assert push(client, device, [edit_op(case_id, base, {"contact_phone": "01632 960001"})])[0]["status"] == "applied"
    now = client.get(f"/api/cases/{case_id}", headers=sup.headers).get_json()["version"]
    client.patch(f"/api/cases/{case_id}", json={"contact_phone": "07700 900999"},
                 headers={**sup.headers, "If-Match": f'"{now}"'})
    result = push(client, device, [edit_op(case_id, base, {"contact_phone": "01632 960002"})])[0]
    assert result["status"] == "conflict_hard"
    assert result["hard_fields"]["contact_phone"] == ["07700 900999", "01632 960002"]


def test_another_device_of_the_same_officer_still_conflicts(client, accounts):
    """Two devices are two offline copies: the same officer's edits on each are concurrent, not ordered."""
    sup, case_id, device, base = _held(client, accounts)
    tablet = enrol(client, "officer", "second tablet")
    assert push(client, device, [edit_op(case_id, base, {"contact_phone": "01632 960001"})])[0]["status"] == "applied"
    result = push(client, tablet, [edit_op(case_id, base, {"contact_phone": "01632 960002"})])[0]
    assert result["status"] == "conflict_hard"
    assert result["hard_fields"]["contact_phone"] == ["01632 960001", "01632 960002"]


def _hard_conflict_on_phone(client, accounts):
    """A kept hard conflict on contact_phone: [office value, device value]."""
    sup, case_id, device, base = _held(client, accounts)
    client.patch(f"/api/cases/{case_id}", json={"contact_phone": "07700 900999"},
                 headers={**sup.headers, "If-Match": f'"{base}"'})
    result = push(client, device, [edit_op(case_id, base, {"contact_phone": "01632 960001"})])[0]
    assert result["status"] == "conflict_hard"
    item = _review(client, sup, case_id)[0]
    assert item["values"] == {"contact_phone": ["07700 900999", "01632 960001"]}
    return sup, case_id, item


def test_picking_the_device_value_does_not_undo_a_later_write(client, accounts):
    """The supervisor chooses between the two values shown with the conflict. A value written after the conflict
    was kept (here by a later office edit) must not be overwritten without anyone seeing it."""
    sup, case_id, item = _hard_conflict_on_phone(client, accounts)
    version = client.get(f"/api/cases/{case_id}", headers=sup.headers).get_json()["version"]
    client.patch(f"/api/cases/{case_id}", json={"contact_phone": "01632 960777"},
                 headers={**sup.headers, "If-Match": f'"{version}"'})
    pick = {"decision": "pick", "choices": {"contact_phone": "device"}}
    resp = client.post(f"/api/review/{item['id']}/resolve", json=pick, headers=sup.headers)
    assert resp.status_code == 409, resp.get_json()
    assert client.get(f"/api/cases/{case_id}", headers=sup.headers).get_json()["contact_phone"] == "01632 960777"
    assert _review(client, sup, case_id)[0]["open"] is True  # still waiting: reject it, or edit the case
    reject = {"decision": "reject", "note": "superseded by the later call"}
    assert client.post(f"/api/review/{item['id']}/resolve", json=reject, headers=sup.headers).status_code == 200


def test_picking_the_device_value_still_works_when_nothing_moved(client, accounts):
    sup, case_id, item = _hard_conflict_on_phone(client, accounts)
    pick = {"decision": "pick", "choices": {"contact_phone": "device"}}
    assert client.post(f"/api/review/{item['id']}/resolve", json=pick, headers=sup.headers).status_code == 200
    assert client.get(f"/api/cases/{case_id}", headers=sup.headers).get_json()["contact_phone"] == "01632 960001"
