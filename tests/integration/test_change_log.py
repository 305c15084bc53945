"""The change log (DESIGN.md "Sync protocol principles" 4-5; server/service/changes.py): every write to a case bumps
its version and appends exactly one CaseChange row naming the changed fields, in the same transaction as the write.
A refused write leaves both untouched. Devices pull by this log, and the main register is fed from it."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.adapters.models import Case, CaseChange
from tests.helpers import assign, create_case, transition

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def log_of(uow, case_id: int) -> tuple[int, list[tuple[int, str, list[str], int | None]]]:
    """(case version, [(version, kind, fields, actor_id), ...] in seq order)."""
    with uow.transaction() as unit:
        session = unit.session
        version = session.get(Case, case_id).version
        rows = session.scalars(select(CaseChange).where(CaseChange.case_id == case_id).order_by(CaseChange.seq))
        return version, [(r.version, r.kind, list(r.fields), r.actor_id) for r in rows]


class Tracker:
    """Checks that each write adds exactly one row (the next version) and that each refusal adds none."""

    def __init__(self, client, uow, case_id: int):
        self.client, self.uow, self.case_id = client, uow, case_id
        self.version, self.rows = log_of(uow, case_id)
        assert self.version == len(self.rows)

    def etag(self) -> dict[str, str]:
        return {"If-Match": f'"{self.version}"'}

    def wrote(self, resp, status: int, kind: str, fields: list[str], actor) -> None:
        assert resp.status_code == status, resp.get_data(as_text=True)
        version, rows = log_of(self.uow, self.case_id)
        assert version == self.version + 1
        assert rows[:-1] == self.rows  # earlier rows untouched: the log is append-only
        assert rows[-1] == (version, kind, sorted(fields), actor.id)
        self.version, self.rows = version, rows

    def refused(self, resp, status: int) -> None:
        assert resp.status_code == status, resp.get_data(as_text=True)
        assert log_of(self.uow, self.case_id) == (self.version, self.rows)


@pytest.fixture
def tracked(client, accounts, uow):
    case = create_case(client, accounts["supervisor"], cp=True)
    return case, Tracker(client, uow, case["id"])


def test_creation_is_version_one_naming_its_fields(tracked, accounts):
    case, t = tracked
    assert case["version"] == 1 and t.version == 1
    [(version, kind, fields, actor)] = t.rows
    assert (version, kind, actor) == (1, "created", accounts["supervisor"].id)
    assert {"first_name", "last_name", "dob", "current_address", "carers", "cp", "last_school_name",
            "first_day_of_absence"} <= set(fields)


def test_field_updates(client, accounts, tracked):
    sup = accounts["supervisor"]
    case, t = tracked
    url = f"/api/cases/{case['id']}"
    t.wrote(client.patch(url, json={"gender": "female", "eal": True}, headers={**sup.headers, **t.etag()}), 200,
            "updated", ["gender", "eal"], sup)
    t.wrote(client.patch(url, json={"current_address": {"line1": "7 Elsewhere Road", "postcode": "ZZ2 2BB"}},
                         headers={**sup.headers, **t.etag()}), 200, "updated", ["current_address"], sup)
    carers = [{"name": "Marigold Quillfeather", "parental_responsibility": True, "phone": "07700 900999"}]
    t.wrote(client.patch(url, json={"carers": carers}, headers={**sup.headers, **t.etag()}), 200,
            "updated", ["carers"], sup)
    # The same values again change nothing: no new version, no row (and no needless pull for devices).
    same = client.patch(url, json={"gender": "female"}, headers={**sup.headers, **t.etag()})
    t.refused(same, 200)
    assert same.headers["ETag"] == f'"{t.version}"'


def test_lifecycle_enquiry_referral_and_assignments(client, accounts, tracked):
    sup, officer, officer2 = accounts["supervisor"], accounts["officer"], accounts["officer2"]
    case, t = tracked
    cid = case["id"]
    t.wrote(transition(client, sup, cid, target="open"), 200, "status:referred->open", ["status"], sup)
    t.wrote(client.post("/api/assignments", json={"case_id": cid, "officer_id": officer.id}, headers=sup.headers),
            201, "assigned", ["assignments"], sup)
    assignment_id = client.get(f"/api/assignments?case_id={cid}", headers=sup.headers).get_json()[0]["id"]
    t.wrote(client.post(f"/api/cases/{cid}/enquiries", json={"kind": "home_visit", "outcome": "no_answer"},
                        headers=officer.headers), 201, "enquiry:home_visit", ["enquiries"], officer)
    t.wrote(client.post("/api/referrals", json={"case_id": cid, "source": "health", "route": "phone",
                                                "situation": "in_area_without_place"}, headers=officer.headers),
            201, "referral", ["referrals"], officer)
    # a reassignment is one write: one version, one row (both officers' devices learn of it from that row)
    resp = client.post(f"/api/assignments/{assignment_id}/reassign", json={"officer_id": officer2.id},
                       headers=sup.headers)
    t.wrote(resp, 201, "reassigned", ["assignments"], sup)
    t.wrote(client.post(f"/api/assignments/{resp.get_json()['id']}/end", headers=sup.headers), 200,
            "unassigned", ["assignments"], sup)
    t.wrote(transition(client, sup, cid, target="closed", closure={
        "reason": "on_roll_at_school", "school_name": "Fictown Primary", "on_roll_date": YESTERDAY}),
        200, "status:open->closed", ["status", "closed_at", "close_reason"], sup)
    t.wrote(transition(client, sup, cid, target="open", note="family back at the address"), 200,
            "status:closed->open", ["status"], sup)
    t.wrote(transition(client, sup, cid, target="transferred_out", destination="Kent"), 200,
            "status:open->transferred_out", ["status", "transfer_destination"], sup)
    versions = [row[0] for row in t.rows]
    assert versions == list(range(1, len(versions) + 1))


def test_refused_writes_leave_version_and_log_untouched(client, accounts, tracked):
    """A refusal — by a rule, a stale version, bad input, or an error after part of the change was applied —
    rolls back the whole transaction: no version, no row."""
    sup, officer, officer2 = accounts["supervisor"], accounts["officer"], accounts["officer2"]
    case, t = tracked
    cid = case["id"]
    url = f"/api/cases/{cid}"
    t.refused(client.patch(url, json={"gender": "male"}, headers=sup.headers), 428)
    t.refused(client.patch(url, json={"gender": "male"}, headers={**sup.headers, "If-Match": '"99"'}), 412)
    t.refused(client.patch(url, json={"gender": "x" * 31}, headers={**sup.headers, **t.etag()}), 422)
    # refused inside the service after fields were already set on the loaded case (dob checked after applying)
    t.refused(client.patch(url, json={"gender": "male", "dob": (date.today() + timedelta(days=3)).isoformat()},
                           headers={**sup.headers, **t.etag()}), 422)
    t.refused(client.patch(url, json={"gender": "male", "carers": [{"id": 999999, "name": "Nobody"}]},
                           headers={**sup.headers, **t.etag()}), 422)
    t.refused(client.patch(url, json={"gender": "male"}, headers={**officer.headers, **t.etag()}), 404)
    t.refused(transition(client, sup, cid, target="closed"), 409)  # §5.3
    t.refused(transition(client, sup, cid, target="untraced"), 409)  # not from referred
    t.refused(client.post(f"{url}/enquiries", json={"kind": "home_visit"}, headers=sup.headers), 422)
    t.refused(client.post("/api/assignments", json={"case_id": cid, "officer_id": sup.id}, headers=sup.headers), 422)
    assign(client, sup, cid, officer.id)
    t.version, t.rows = log_of(t.uow, cid)
    assignment_id = client.get(f"/api/assignments?case_id={cid}", headers=sup.headers).get_json()[0]["id"]
    t.refused(client.post(f"/api/assignments/{assignment_id}/reassign", json={"officer_id": sup.id},
                          headers=sup.headers), 422)
    # the refused reassignment did not end the officer's assignment either
    open_ones = client.get(f"/api/assignments?case_id={cid}", headers=sup.headers).get_json()
    assert [(a["id"], a["officer_id"]) for a in open_ones] == [(assignment_id, officer.id)]
    assert client.post(f"/api/assignments/{assignment_id}/reassign", json={"officer_id": officer2.id},
                       headers=sup.headers).status_code == 201


def test_failure_after_the_bump_rolls_back_the_change_row(client, accounts, tracked, monkeypatch):
    """Same transaction: if anything fails after the version was bumped and the row appended (here, writing the
    audit entry), neither survives."""
    from server.service import audit

    sup = accounts["supervisor"]
    case, t = tracked

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken)
    resp = client.patch(f"/api/cases/{case['id']}", json={"gender": "female"}, headers={**sup.headers, **t.etag()})
    t.refused(resp, 500)
    assert resp.content_type == "application/problem+json"
    monkeypatch.undo()
    t.wrote(client.patch(f"/api/cases/{case['id']}", json={"gender": "female"},
                         headers={**sup.headers, **t.etag()}), 200, "updated", ["gender"], sup)
