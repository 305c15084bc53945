"""The server governs device security (DESIGN principle 10): a revoked device erases itself at its next contact;
a retired one sends everything it holds, says goodbye, then erases itself."""
from __future__ import annotations

import pytest

from tests.helpers import assign, create_case

from .field import (EXIT_OFFLINE, EXIT_REVOKED, Device, device_record, enquiries, linked_photos, photo_bytes, photo_file,
                    with_op)

pytestmark = pytest.mark.e2e


def enrolled(server, client, accounts, tmp_path) -> tuple[dict, Device, int]:
    """A case assigned to the officer, whose device (talking to `server`, a LiveServer or FaultProxy) holds it."""
    case = create_case(client, accounts["supervisor"])
    assign(client, accounts["supervisor"], case["id"], accounts["officer"].id)
    device = Device(tmp_path / "officer-store", "officer")
    device_id = device.enrol(server.url)
    device.sync()
    assert device.cases() == [case["id"]]
    return case, device, device_id


def assert_store_gone(device: Device) -> None:
    assert not device.store_exists()
    status = device.run("status")
    assert status.returncode == 1 and "no store at" in status.stderr, status


def test_a_revoked_device_erases_itself_at_its_next_contact(live_server, client, accounts, tmp_path):
    supervisor = accounts["supervisor"]
    case, device, device_id = enrolled(live_server, client, accounts, tmp_path)
    visit_op, _ = device.visit(case["id"], "no_answer")  # captured on a device that has since been lost

    revoked = client.post(f"/api/devices/{device_id}/revoke", headers=supervisor.headers)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    done = device.run("sync")

    assert done.returncode == EXIT_REVOKED, done
    assert "revoked" in done.stderr and "erased" in done.stderr
    assert_store_gone(device)
    # Nothing from a revoked device is taken in, and the device stays revoked.
    assert with_op(enquiries(client, supervisor, case["id"]), visit_op) == []
    assert device_record(client, supervisor, device_id)["status"] == "revoked"


def test_a_retired_device_sends_everything_then_erases_itself(live_server, client, accounts, uow, tmp_path):
    supervisor = accounts["supervisor"]
    case, device, device_id = enrolled(live_server, client, accounts, tmp_path)
    path, data, sha = photo_file(tmp_path / "notice.jpg", 200_000)
    first, [photo_op] = device.visit(case["id"], "no_answer", "--notice-left", "--photo", str(path))
    second, _ = device.visit(case["id"], "child_seen", "--notes", "Seen with mother")

    retired = client.post(f"/api/devices/{device_id}/retire", headers=supervisor.headers)
    assert retired.status_code == 200 and retired.get_json()["status"] == "retired"
    out = device.sync()

    assert "This device was retired: all work was sent and the local store has been erased." in out
    assert_store_gone(device)
    on_server = enquiries(client, supervisor, case["id"])
    assert [len(with_op(on_server, op)) for op in (first, second)] == [1, 1]
    photos = linked_photos(uow, with_op(on_server, first)[0]["id"])
    assert [p["op_id"] for p in photos] == [photo_op]
    assert photo_bytes(client, supervisor, photos[0]["id"]) == data
    assert device_record(client, supervisor, device_id)["status"] == "wiped"


def test_a_retired_device_whose_goodbye_answer_is_lost_still_erases_itself(live_server, proxy, client, accounts,
                                                                          tmp_path):
    """The server marks the device wiped but the answer never arrives: the retry in the same sync (or, when
    every try is lost, the next contact) is told to erase, instead of meeting a dead token with the data kept."""
    supervisor = accounts["supervisor"]
    case, device, device_id = enrolled(proxy, client, accounts, tmp_path)
    spare = Device(tmp_path / "spare-store", "officer")  # the officer's second device
    spare_id = spare.enrol(proxy.url)
    visit_op, _ = device.visit(case["id"], "refused")
    for retiring in (device_id, spare_id):
        assert client.post(f"/api/devices/{retiring}/retire", headers=supervisor.headers).status_code == 200

    proxy.lose_response("POST", "/api/sync/goodbye")  # once: the client's own retry hears "erase"
    out = device.sync()
    assert "This device was retired: all work was sent and the local store has been erased." in out
    assert len(proxy.requests_to("POST", "/api/sync/goodbye")) == 2
    assert_store_gone(device)
    assert len(with_op(enquiries(client, supervisor, case["id"]), visit_op)) == 1
    assert device_record(client, supervisor, device_id)["status"] == "wiped"

    proxy.lose_response("POST", "/api/sync/goodbye", times=10)  # every try: the officer gives up for now
    lost = spare.run("sync")
    assert lost.returncode == EXIT_OFFLINE and spare.store_exists(), lost
    assert device_record(client, supervisor, spare_id)["status"] == "wiped"
    proxy.clear()
    later = spare.run("sync")
    assert later.returncode == EXIT_REVOKED and "erased" in later.stderr, later
    assert_store_gone(spare)
