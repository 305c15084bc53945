"""The field client as its own process against a real server on loopback: offline capture, a lost answer,
conflicting edits from two devices and the office, and a case reassigned while work on it was unsent."""
from __future__ import annotations

import re

import pytest

from tests.helpers import assign, create_case

from .field import (EXIT_OFFLINE, Device, case_ids, enquiries, linked_photos, photo_bytes, photo_file, review_items,
                    sync_summary, with_op)

pytestmark = pytest.mark.e2e


@pytest.fixture
def supervisor(accounts):
    return accounts["supervisor"]


def assigned_case(client, accounts, *officers: str, **fields) -> dict:
    case = create_case(client, accounts["supervisor"], **fields)
    case["assignments"] = [assign(client, accounts["supervisor"], case["id"], accounts[name].id) for name in officers]
    return case


def test_visit_captured_offline_reaches_the_server_once_with_its_photo(live_server, client, accounts,
                                                                      supervisor, uow, tmp_path):
    case = assigned_case(client, accounts, "officer")
    device = Device(tmp_path / "officer-store", "officer")
    device_id = device.enrol(live_server.url)
    assert "Cases received: 1;" in device.sync()
    assert device.cases() == [case["id"]]

    live_server.stop()  # no signal on the doorstep
    path, data, sha = photo_file(tmp_path / "notice.jpg", 300_000)
    visit_op, [photo_op] = device.visit(case["id"], "no_answer", "--notice-left", "--notes", "Calling card left",
                                        "--photo", str(path))
    offline = device.run("sync")
    assert offline.returncode == EXIT_OFFLINE, offline
    assert "cannot reach the server" in offline.stderr
    assert device.outbox() == [visit_op, photo_op]  # kept, in order, until the server acknowledges them

    live_server.start()
    out = device.sync()
    assert sync_summary(out) == {"applied": 2}
    assert "Photos uploaded: 1." in out and "Still to send: 0." in out
    assert device.outbox() == []

    visits = with_op(enquiries(client, supervisor, case["id"]), visit_op)
    assert len(visits) == 1
    visit = visits[0]
    assert (visit["kind"], visit["outcome"], visit["notes"]) == ("home_visit", "no_answer", "Calling card left")
    assert visit["details"]["notice_left"] is True and visit["device_id"] == device_id
    photos = linked_photos(uow, visit["id"])
    assert [(p["op_id"], p["sha256"], p["size"]) for p in photos] == [(photo_op, sha, len(data))]
    assert photo_bytes(client, supervisor, photos[0]["id"]) == data

    # Syncing again sends nothing and adds nothing.
    assert sync_summary(device.sync()) == {}
    assert len(enquiries(client, supervisor, case["id"])) == 1
    assert len(linked_photos(uow, visit["id"])) == 1


def test_a_lost_push_answer_is_retried_and_applied_once(live_server, proxy, client, accounts, supervisor, tmp_path):
    case = assigned_case(client, accounts, "officer")
    device = Device(tmp_path / "officer-store", "officer")
    device.enrol(proxy.url)
    device.sync()
    visit_op, _ = device.visit(case["id"], "family_spoken_to", "--person-spoken-to", "Mother")

    proxy.lose_response("POST", "/api/sync/push")  # the server applies it; the answer never arrives
    out = device.sync()

    pushes = proxy.requests_to("POST", "/api/sync/push")
    assert len(pushes) == 2 and pushes[0].status is None and pushes[1].status == 200
    assert sync_summary(out) == {"duplicate": 1}  # the retry was answered with the first result
    assert device.outbox() == []
    visits = with_op(enquiries(client, supervisor, case["id"]), visit_op)
    assert len(visits) == 1 and visits[0]["outcome"] == "family_spoken_to"


def test_two_devices_and_the_office_edit_the_same_phone(live_server, client, accounts, supervisor, tmp_path):
    case = assigned_case(client, accounts, "officer", "officer2", contact_phone="01632 960000")
    first, second = Device(tmp_path / "store-1", "officer"), Device(tmp_path / "store-2", "officer2")
    for device in (first, second):
        device.enrol(live_server.url)
        device.sync()
    # Both devices work from the same base version, offline.
    phone_1 = first.change(case["id"], "--contact-phone", "07700 900111")
    phone_2 = second.change(case["id"], "--contact-phone", "07700 900222")
    email_2 = second.change(case["id"], "--contact-email", "family@example.org")
    # Meanwhile the office takes a call and corrects the phone.
    current = client.get(f"/api/cases/{case['id']}", headers=supervisor.headers)
    patched = client.patch(f"/api/cases/{case['id']}", json={"contact_phone": "01632 960999"},
                           headers={**supervisor.headers, "If-Match": current.headers["ETag"]})
    assert patched.status_code == 200, patched.get_json()

    assert sync_summary(first.sync()) == {"conflict_hard": 1}
    assert sync_summary(second.sync()) == {"conflict_hard": 1, "conflict_soft": 1}

    items = {item["op_id"]: item for item in review_items(client, supervisor, case["id"])}
    assert set(items) == {phone_1, phone_2, email_2}
    assert items[phone_1]["category"] == items[phone_2]["category"] == "conflict_hard"
    assert items[phone_1]["values"] == {"contact_phone": ["01632 960999", "07700 900111"]}  # [server, device]
    assert items[phone_2]["values"] == {"contact_phone": ["01632 960999", "07700 900222"]}
    assert items[phone_1]["officer_id"] == accounts["officer"].id
    assert items[phone_2]["officer_id"] == accounts["officer2"].id
    assert items[email_2]["category"] == "conflict_soft" and "contact_phone" in items[email_2]["detail"]
    assert all(item["open"] for item in items.values())

    # The office's phone stands until a supervisor picks; the soft edit was applied.
    now = client.get(f"/api/cases/{case['id']}", headers=supervisor.headers).get_json()
    assert (now["contact_phone"], now["contact_email"]) == ("01632 960999", "family@example.org")
    # The officer's device shows the verdicts and, after its pull, the server's values.
    status = second.ok("status")
    assert f"conflict_hard (contact_phone)  [op {phone_2}]" in status and f"conflict_soft  [op {email_2}]" in status
    shown = second.ok("show", str(case["id"]))
    assert "01632 960999" in shown and "family@example.org" in shown


def test_reassigned_case_is_purged_only_after_its_unsent_work_is_pushed(live_server, proxy, client, accounts,
                                                                       supervisor, tmp_path):
    case = assigned_case(client, accounts, "officer")
    other = assigned_case(client, accounts, "officer")
    device = Device(tmp_path / "officer-store", "officer")
    device.enrol(proxy.url)
    device.sync()
    path, _, sha = photo_file(tmp_path / "letter.jpg", 300_000)
    visit_op, [photo_op] = device.visit(case["id"], "no_longer_resides", "--notes", "Neighbour says moved out",
                                        "--photo", str(path))
    moved = client.post(f"/api/assignments/{case['assignments'][0]['id']}/reassign",
                        json={"officer_id": accounts["officer2"].id}, headers=supervisor.headers)
    assert moved.status_code == 201, moved.get_json()

    # A gateway with a small body limit turns the photo's chunks away: the photo waits on the device.
    proxy.reply("PATCH", "/api/uploads/", 413, times=1)
    mark = len(proxy.seen)
    out = device.sync()
    sent = [(method, url.split("?")[0]) for method, url, _ in proxy.seen[mark:]]
    assert sent.index(("POST", "/api/sync/push")) < sent.index(("GET", "/api/sync/pull"))  # push first
    assert sync_summary(out) == {"quarantined": 1}
    assert "1 to retry later" in out and "kept until sent: 1." in out
    # The visit is not lost: the server kept it for a supervisor, as out of scope (no enquiry was recorded).
    items = {item["op_id"]: item for item in review_items(client, supervisor, case["id"])}
    assert items[visit_op]["category"] == "quarantined" and items[visit_op]["reason"] == "out_of_scope"
    assert items[visit_op]["op"]["payload"]["notes"] == "Neighbour says moved out"
    assert with_op(enquiries(client, supervisor, case["id"]), visit_op) == []
    # The case left the officer's scope but its photo is unsent: it stays, marked as leaving.
    assert device.outbox() == [photo_op]
    held = device.ok("cases")
    assert sorted(case_ids(held)) == sorted([case["id"], other["id"]])
    assert re.search(rf"^\W*{case['id']}\s.*leaving: unsent work", held, flags=re.MULTILINE), held

    out = device.sync()  # the photo goes, its attach op is kept for review too, then the case is purged
    assert "Photos uploaded: 1." in out and sync_summary(out) == {"quarantined": 1}
    assert "purged: 1;" in out
    assert device.outbox() == []
    assert device.cases() == [other["id"]]
    items = {item["op_id"]: item for item in review_items(client, supervisor, case["id"])}
    assert items[photo_op]["reason"] == "out_of_scope" and items[photo_op]["op"]["payload"]["sha256"] == sha
    # A supervisor can still admit the officer's visit onto the case.
    accepted = client.post(f"/api/review/{items[visit_op]['id']}/resolve", json={"decision": "accept"},
                           headers=supervisor.headers)
    assert accepted.status_code == 200, accepted.get_json()
    [admitted] = with_op(enquiries(client, supervisor, case["id"]), visit_op)
    assert admitted["outcome"] == "no_longer_resides" and admitted["actor_id"] == accounts["officer"].id
