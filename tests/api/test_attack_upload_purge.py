"""Attack: filling the server with uploads that never become evidence (issue 7 item 16). Completed uploads never
linked to a visit are purged after `UNLINKED_TTL` (expired unfinished ones too) by `cme-server purge-uploads`, and
an officer's unlinked bytes have a quota: an upload over it is refused with 413 naming the quota.
Each test runs with both blob stores (the `app` fixture of test_uploads_tus)."""
from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from server.adapters.blobs import blob_store_for
from server.adapters.upload_models import Upload
from server.cli import cli
from server.service import upload_quota, uploads
from server.service.clock import utcnow
from tests.api.test_uploads_tus import app, create, patch, stored  # noqa: F401  (app: both blob stores)
from tests.helpers import assign, create_case
from tests.sync_helpers import enrol, now, push, visit_op

PAST_TTL = upload_quota.UNLINKED_TTL + timedelta(hours=1)


def upload(client, account, data: bytes) -> str:
    resp = create(client, account, data)
    assert resp.status_code == 201, resp.get_json()
    url = resp.headers["Location"]
    assert patch(client, account, url, 0, data).status_code == 204
    return url.rsplit("/", 1)[-1]


def photo_op(case_id: int, visit_op_id: str, data: bytes) -> dict:
    return {"op_id": str(uuid.uuid4()), "kind": "attach_photo", "case_id": case_id, "device_time": now(),
            "payload": {"visit_op_id": visit_op_id, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                        "content_type": "image/jpeg"}}


def age(app, *upload_ids: str, by: timedelta = PAST_TTL) -> None:
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        session.execute(update(Upload).where(Upload.id.in_(upload_ids)).values(
            completed_at=utcnow() - by, created_at=utcnow() - by, expires_at=utcnow() - by + uploads.UPLOAD_TTL))


def upload_ids(app) -> set[str]:
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        return set(session.scalars(select(Upload.id)))


def purge(app) -> dict:
    with app.extensions["cme"]["uow"].transaction() as session:
        return uploads.purge_uploads(session, blob_store_for(app))


def test_completed_uploads_never_linked_are_purged_after_the_set_time(app, accounts):
    client, sup, officer = app.test_client(), accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    visit = visit_op(case["id"])
    push(client, device, [visit])
    abandoned, linked, recent = b"\xff\xd8 abandoned", b"\xff\xd8 linked", b"\xff\xd8 recent"
    ids = {name: upload(client, officer, data) for name, data in
           (("abandoned", abandoned), ("linked", linked), ("recent", recent))}
    assert push(client, device, [photo_op(case["id"], visit["op_id"], linked)])[0]["status"] == "applied"
    age(app, ids["abandoned"], ids["linked"])
    assert purge(app) == {"expired": 0, "unlinked": 1}
    assert upload_ids(app) == {ids["linked"], ids["recent"]}
    assert stored(app, hashlib.sha256(abandoned).hexdigest()) is None  # its blob went too
    assert stored(app, hashlib.sha256(linked).hexdigest()) == linked  # evidence stays
    assert purge(app) == {"expired": 0, "unlinked": 0}  # idempotent


def test_a_blob_another_officer_linked_survives_the_purge_of_an_unlinked_copy(app, accounts):
    client, sup, officer = app.test_client(), accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    visit = visit_op(case["id"])
    push(client, device, [visit])
    same = b"\xff\xd8 the same letter photographed twice"
    mine = upload(client, officer, same)
    theirs = upload(client, accounts["officer2"], same)
    assert push(client, device, [photo_op(case["id"], visit["op_id"], same)])[0]["status"] == "applied"
    age(app, mine, theirs)
    assert purge(app)["unlinked"] == 1 and upload_ids(app) == {mine}
    assert stored(app, hashlib.sha256(same).hexdigest()) == same


def test_an_upload_named_by_an_op_kept_for_review_is_not_purged(app, accounts):
    """Nothing captured is lost: a photo whose attach_photo was quarantined waits for the supervisor."""
    client, sup, officer = app.test_client(), accounts["supervisor"], accounts["officer"]
    unassigned = create_case(client, sup)
    device = enrol(client, "officer")
    held = b"\xff\xd8 photo of a notice"
    held_id = upload(client, officer, held)
    result = push(client, device, [photo_op(unassigned["id"], str(uuid.uuid4()), held)])[0]
    assert result["status"] == "quarantined"
    age(app, held_id)
    assert purge(app)["unlinked"] == 0 and upload_ids(app) == {held_id}
    assert stored(app, hashlib.sha256(held).hexdigest()) == held


def test_expired_unfinished_uploads_are_purged_by_the_command(app, accounts, monkeypatch):
    client, officer = app.test_client(), accounts["officer"]
    resp = create(client, officer, b"\xff\xd8 never finished")
    unfinished = resp.headers["Location"].rsplit("/", 1)[-1]
    abandoned = upload(client, officer, b"\xff\xd8 abandoned")
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        session.execute(update(Upload).where(Upload.id == unfinished).values(expires_at=utcnow() - timedelta(1)))
    age(app, abandoned)
    monkeypatch.setattr("server.cli._app", lambda: app)  # the command on this app's database and blob store
    runner = CliRunner()
    first = runner.invoke(cli, ["purge-uploads"])
    assert first.exit_code == 0, first.output
    assert "purged 1 expired and 1 unlinked uploads" in first.output and upload_ids(app) == set()
    again = runner.invoke(cli, ["purge-uploads"])
    assert again.exit_code == 0 and "purged 0 expired and 0 unlinked uploads" in again.output


def test_an_upload_past_the_officers_unlinked_quota_is_refused_413(app, accounts, monkeypatch):
    monkeypatch.setattr(upload_quota, "UNLINKED_QUOTA_BYTES", 100)
    client, sup, officer = app.test_client(), accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    first = b"\xff\xd8" + b"x" * 58  # 60 bytes, unlinked
    upload(client, officer, first)
    refused = create(client, officer, b"\xff\xd8" + b"y" * 48)  # 50 more: over 100
    assert refused.status_code == 413 and refused.content_type == "application/problem+json"
    problem = refused.get_json()
    assert problem["type"].endswith("/upload-quota-exceeded") and problem["field"] == "Upload-Length"
    assert "MiB per officer" in problem["detail"]
    assert create(client, accounts["officer2"], b"\xff\xd8" + b"y" * 48).status_code == 201  # per officer
    visit = visit_op(case["id"])
    push(client, device, [visit])
    assert push(client, device, [photo_op(case["id"], visit["op_id"], first)])[0]["status"] == "applied"
    assert create(client, officer, b"\xff\xd8" + b"y" * 48).status_code == 201  # linked bytes do not count
