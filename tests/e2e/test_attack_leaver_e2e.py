"""The leaver process end to end (issue 7 item 2): an admin disables an officer's account while their device still
holds children's records and a visit not yet sent. The device's next sync hands the visit in (it lands in the
review queue, not on the case) and erases the store: nothing captured is lost, nothing stays on the device."""
from __future__ import annotations

import pytest

from tests.helpers import assign, create_case

from .field import Device, device_record, enquiries, photo_file, review_items, with_op

pytestmark = pytest.mark.e2e


def test_disabled_leaver_with_a_pending_visit_and_photo_hands_them_in_and_the_store_is_erased(
        live_server, client, accounts, tmp_path):
    admin, supervisor, officer = accounts["admin"], accounts["supervisor"], accounts["officer"]
    case = create_case(client, supervisor)
    assign(client, supervisor, case["id"], officer.id)
    device = Device(tmp_path / "leaver-store", "officer")
    device_id = device.enrol(live_server.url)
    device.sync()
    assert device.cases() == [case["id"]]
    path, _, _ = photo_file(tmp_path / "notice.jpg", 50_000)
    visit_op, [photo_op] = device.visit(case["id"], "no_answer", "--notice-left", "--photo", str(path))

    disabled = client.put(f"/api/users/{officer.id}/active", json={"active": False}, headers=admin.headers)
    assert disabled.status_code == 200, disabled.get_json()
    out = device.sync()

    assert "This device was retired: all work was sent and the local store has been erased." in out
    assert not device.store_exists()
    assert device_record(client, supervisor, device_id)["status"] == "wiped"
    assert with_op(enquiries(client, supervisor, case["id"]), visit_op) == []  # not applied by a leaver...
    kept = {item["op_id"]: item["reason"] for item in review_items(client, supervisor, case["id"])}
    assert kept == {visit_op: "account_disabled", photo_op: "account_disabled"}  # ...but kept for review
