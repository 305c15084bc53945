"""Faults in the middle of a sync: the client killed mid-push, and a photo upload cut off mid-file."""
from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from tests.helpers import assign, create_case

from .field import Device, enquiries, linked_photos, photo_bytes, photo_file, sync_summary, with_op

pytestmark = pytest.mark.e2e

VISITS = 200  # two push batches of 100 (the engine's default batch)
BATCH = 100


def wait_until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def officer_with_case(server_url: str, client, accounts, tmp_path) -> tuple[dict, Device]:
    case = create_case(client, accounts["supervisor"])
    assign(client, accounts["supervisor"], case["id"], accounts["officer"].id)
    device = Device(tmp_path / "officer-store", "officer")
    device.enrol(server_url)
    device.sync()
    return case, device


def test_a_sync_killed_mid_push_restarts_with_its_outbox_and_finishes(live_server, proxy, client, accounts,
                                                                      tmp_path):
    case, device = officer_with_case(proxy.url, client, accounts, tmp_path)
    ops = device.record_visits(case["id"], VISITS)
    assert len(set(ops)) == VISITS

    proxy.delay("POST", "/api/sync/push", 0.5)  # a slow link: every answer takes a while to come back
    sync = device.popen("sync")
    pushes = lambda: proxy.requests_to("POST", "/api/sync/push")  # noqa: E731
    wait_until(lambda: len(pushes()) >= 2 or sync.poll() is not None, what="the second push")
    sync.send_signal(signal.SIGKILL)  # the battery dies while the second batch is on its way
    sync.wait(10)
    assert sync.returncode == -signal.SIGKILL, sync.communicate()
    second = pushes()[1]

    # The store opens; the first batch was acknowledged and left the outbox; the second is kept.
    assert device.outbox() == ops[BATCH:]

    # The server finishes the batch the dead client sent; the restarted sync learns it has them all.
    wait_until(lambda: second.status is not None, what="the server to answer the orphaned push")
    assert second.status == 200
    proxy.clear()
    out = device.sync()
    assert sync_summary(out) == {"duplicate": VISITS - BATCH}
    assert device.outbox() == []
    counts = Counter(e["op_id"] for e in enquiries(client, accounts["supervisor"], case["id"]))
    assert set(counts) == set(ops) and set(counts.values()) == {1}


@pytest.mark.parametrize("fault", ["lose_response", "refuse"])
def test_a_photo_upload_cut_off_resumes_from_the_server_offset(fault, live_server, proxy, client, accounts, uow,
                                                               tmp_path):
    case, device = officer_with_case(proxy.url, client, accounts, tmp_path)
    size = 600_000  # three chunks on loopback: 32 KiB, 128 KiB, then the rest (sizes follow the link)
    path, data, sha = photo_file(tmp_path / "notice.jpg", size)
    visit_op, [photo_op] = device.visit(case["id"], "no_answer", "--photo", str(path))

    # The second chunk: either it reaches the server and the answer is lost, or it never arrives.
    getattr(proxy, fault)("PATCH", "/api/uploads/", times=1, after=1)
    mark = len(proxy.seen)
    out = device.sync()
    assert "Photos uploaded: 1." in out and sync_summary(out) == {"applied": 2}

    tus = [s for s in proxy.seen[mark:] if s[1].startswith("/api/uploads")]
    assert [s[0] for s in tus[:3]] == ["POST", "PATCH", "PATCH"]
    first_chunk = tus[1][2]
    assert [s.headers["Upload-Offset"] for s in tus[1:3]] == ["0", str(first_chunk)]
    assert tus[2].status is None  # the cut-off chunk
    head = tus[3]
    assert head[0] == "HEAD" and head[1] == tus[2][1]  # the client asks the server where to resume
    stored = first_chunk + tus[2][2] if fault == "lose_response" else first_chunk
    assert head.reply_headers["Upload-Offset"] == str(stored)
    resumed = [s for s in tus[4:] if s[0] == "PATCH"]
    assert resumed[0].headers["Upload-Offset"] == str(stored) != "0"
    assert sum(s[2] for s in resumed) == size - stored  # nothing before the offset was sent again
    assert all(s.status == 204 for s in resumed)

    visit = with_op(enquiries(client, accounts["supervisor"], case["id"]), visit_op)[0]
    photos = linked_photos(uow, visit["id"])
    assert [(p["op_id"], p["sha256"], p["size"]) for p in photos] == [(photo_op, sha, size)]
    assert photo_bytes(client, accounts["supervisor"], photos[0]["id"]) == data
