"""The sync path's cost (issue 8, Speed): one transaction per push batch with its authentication, each case
locked and its assignment read once, one savepoint per op, holdings of a pull page in one read and one write,
and the change-log lock taken only for the change-log insert just before the commit. Runs on SQLite and, with
CME_TEST_DATABASE_URL, on PostgreSQL."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, select

from server.adapters.models import Case, CaseChange
from server.service import changes
from tests.helpers import assign, create_case
from tests.sync_helpers import enrol, push, visit_op


@contextmanager
def statements(app):
    seen: list[str] = []
    commits: list[int] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()).upper())

    def on_commit(conn):
        commits.append(1)

    engine = app.extensions["cme"]["engine"]
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen, commits
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", on_commit)


def _caseload(client, accounts, n: int) -> tuple[list[int], dict]:
    sup = accounts["supervisor"]
    ids = [create_case(client, sup)["id"] for _ in range(n)]
    for cid in ids:
        assign(client, sup, cid, accounts["officer"].id)
    return ids, enrol(client, "officer")


def test_push_batch_is_one_transaction_locking_each_case_once(app, client, accounts):
    case_ids, device = _caseload(client, accounts, 3)
    ops = [visit_op(case_ids[i % 3]) for i in range(12)]
    with statements(app) as (seen, commits):
        results = push(client, device, ops)
    assert [r["status"] for r in results] == ["applied"] * 12
    assert len(commits) == 1  # authentication, twelve ops and their change log: one transaction
    case_reads = [s for s in seen if s.startswith("SELECT") and "FROM CASES" in s and "JOIN" not in s]
    assert len(case_reads) == 1, case_reads  # the batch locks its cases in one statement, never per op
    assignment_reads = [s for s in seen if s.startswith("SELECT") and "FROM ASSIGNMENTS" in s]
    assert len(assignment_reads) == 1, assignment_reads
    assert sum(s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) for s in seen) == 2 * 12  # one per op
    assert len(seen) / len(ops) < 9, seen


def test_change_log_lock_is_taken_only_for_the_insert_before_commit(app, client, accounts):
    case_ids, device = _caseload(client, accounts, 2)
    with statements(app) as (seen, _):
        push(client, device, [visit_op(case_ids[0]), visit_op(case_ids[1]), visit_op(case_ids[0])])
    change_log_writes = [i for i, s in enumerate(seen) if s.startswith("INSERT INTO CASE_CHANGES")]
    assert len(change_log_writes) == 1  # three changes, one statement
    assert change_log_writes[0] == len(seen) - 1  # nothing of the push runs after it: the commit follows
    locks = [i for i, s in enumerate(seen) if "PG_ADVISORY_XACT_LOCK" in s]
    if app.extensions["cme"]["engine"].dialect.name == "postgresql":
        assert locks == [len(seen) - 2]  # taken just before the insert, released by the commit


def test_rolled_back_savepoint_drops_its_queued_change_log_rows(app, client, accounts):
    case_id = create_case(client, accounts["supervisor"])["id"]
    db = app.extensions["cme"]["uow"]
    with db.transaction() as uow:
        case = uow.session.get(Case, case_id)
        before = case.version
        changes.bump(uow, case, None, "kept", ["notes"])
        try:
            with uow.savepoint():
                changes.bump(uow, case, None, "undone", ["notes"])
                assert [k for _, k, _, _ in uow.change_log.since(case_id, before)] == ["kept", "undone"]
                raise RuntimeError("the op fails")
        except RuntimeError:
            pass
        assert [k for _, k, _, _ in uow.change_log.since(case_id, before)] == ["kept"]
    with db.transaction() as uow:
        kinds = list(uow.session.scalars(select(CaseChange.kind).where(CaseChange.case_id == case_id,
                                                                       CaseChange.version > before)))
    assert kinds == ["kept"]


def test_pull_page_reads_and_writes_holdings_in_one_statement_each(app, client, accounts):
    _, device = _caseload(client, accounts, 12)
    with statements(app) as (seen, commits):
        resp = client.get("/api/sync/pull", query_string={"limit": 100}, headers=device["headers"])
    assert len(resp.get_json()["cases"]) == 12
    assert len(commits) == 1  # authentication, the page and what the device now holds: one transaction
    holdings = [s for s in seen if "DEVICE_HOLDINGS" in s]
    assert len(holdings) == 2, holdings  # one SELECT, one upsert, whatever the page size


def test_push_batch_reads_first_referrals_and_enquiries_once_not_per_op(app, client, accounts):
    """The visit-time check used to read the case's first referral and reload the enquiry for every op: one
    referral read per batch now, and no enquiry re-read unless the visit is flagged."""
    case_ids, device = _caseload(client, accounts, 3)
    ops = [visit_op(case_ids[i % 3]) for i in range(12)]
    with statements(app) as (seen, _):
        results = push(client, device, ops)
    assert [r["status"] for r in results] == ["applied"] * 12
    referral_reads = [s for s in seen if s.startswith("SELECT") and "FROM REFERRALS" in s]
    assert len(referral_reads) == 1, referral_reads
    enquiry_reads = [s for s in seen if s.startswith("SELECT") and "FROM ENQUIRIES" in s]
    assert enquiry_reads == [], enquiry_reads
    assert len(seen) / len(ops) < 7, seen
