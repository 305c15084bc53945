from datetime import date, datetime, timezone
from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from schemas.sync_messages import (
    CheckRequestSchema,
    CheckResponseSchema,
    PullRequestSchema,
    PullResponseSchema,
    PushRequestSchema,
    PushResponseSchema,
)
from sync.cursor import encode_cursor, holdings_digest

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=timezone.utc)
OP = {
    "op_id": "6f1c2f0e-9a54-4c1e-8f51-2b7f3c9d0a11", "kind": "acknowledge_assignment", "case_id": 42,
    "device_time": "2025-03-04T10:15:00+00:00", "payload": {"assignment_id": 9}, "base_version": None,
}
RESULT = {"op_id": OP["op_id"], "status": "applied", "reason": None, "detail": None, "case_id": 42,
          "case_version": 8, "result": None, "hard_fields": None}
CASE = {
    "id": 42, "version": 8, "reference": "CME-2025-0042", "status": "open",
    "child": {"first_name": "Sam", "last_name": "Taylor", "preferred_name": None, "dob": date(2014, 5, 1),
              "gender": None},
    "current_address": None, "contact_phone": None, "contact_email": None, "carers": [], "last_school": None,
    "safeguarding": {"cp": False, "cin": False, "cic": False},
    "assignment": {"id": 9, "due": None, "instructions": None, "acknowledged": True},
    "recent_enquiries": [],
}

EXAMPLES: list[tuple[type[Schema], dict[str, Any]]] = [
    (PullRequestSchema, {"cursor": encode_cursor(10, 1), "limit": 50}),
    (PullResponseSchema, {"cases": [CASE], "removed": [7, 11], "cursor": encode_cursor(12, 1), "more": False,
                          "resync": False, "server_time": NOW, "offline_ttl_seconds": 259200}),
    (PullRequestSchema, {"cursor": None, "limit": 100, "digest": holdings_digest([(42, 8)]), "count": 1}),
    (PullResponseSchema, {"cases": [], "removed": [], "cursor": encode_cursor(12, 1), "more": False,
                          "resync": False, "server_time": NOW, "offline_ttl_seconds": None,
                          "check": {"match": True, "server_count": 1}}),
    (PushRequestSchema, {"ops": [OP]}),
    (PushResponseSchema, {"results": [RESULT], "server_time": NOW}),
    (CheckRequestSchema, {"digest": holdings_digest([(42, 8)]), "count": 1}),
    (CheckResponseSchema, {"match": False, "server_count": 2, "resync": True}),
]


@pytest.mark.parametrize(("schema_cls", "data"), EXAMPLES, ids=[cls.__name__ for cls, _ in EXAMPLES])
def test_round_trip(schema_cls: type[Schema], data: dict[str, Any]) -> None:
    schema = schema_cls()
    assert schema.load(schema.dump(data)) == data


def test_pull_request_defaults() -> None:
    assert PullRequestSchema().load({}) == {"cursor": None, "limit": 100}
    assert PullRequestSchema().load({"limit": "20"})["limit"] == 20  # query-string form


def test_naive_server_time_is_read_as_utc() -> None:
    push = PushResponseSchema().load({"results": [], "server_time": "2025-03-04T12:00:00"})
    assert push["server_time"] == NOW


def _messages(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as info:
        schema.load(data)
    return info.value.messages  # type: ignore[return-value]


@pytest.mark.parametrize(("schema_cls", "data", "field"), [
    (PullRequestSchema, {"limit": 0}, "limit"),
    (PullRequestSchema, {"limit": 501}, "limit"),
    (PullRequestSchema, {"cursor": 5}, "cursor"),
    (PullRequestSchema, {"since": "yesterday"}, "since"),
    (PullResponseSchema, {"cases": [], "removed": ["7"], "cursor": "c", "more": False, "resync": False,
                          "server_time": "2025-03-04T12:00:00Z"}, "removed"),
    (PullResponseSchema, {"cases": [], "removed": [], "more": False, "resync": False,
                          "server_time": "2025-03-04T12:00:00Z"}, "cursor"),
    (PullRequestSchema, {"digest": "ABC", "count": "1"}, "digest"),
    (PullRequestSchema, {"digest": "a" * 64, "count": "-1"}, "count"),
    (PullRequestSchema, {"digest": "a" * 64}, "count"),
    (PullRequestSchema, {"count": "3"}, "digest"),
    (PullResponseSchema, {"cases": [], "removed": [], "cursor": "c", "more": False, "resync": False,
                          "server_time": "2025-03-04T12:00:00Z", "check": {"match": "perhaps", "server_count": 1}},
     "check"),
    (PushRequestSchema, {"ops": []}, "ops"),
    (PushRequestSchema, {"ops": [OP] * 501}, "ops"),
    (PushRequestSchema, {}, "ops"),
    (PushResponseSchema, {"results": [], "server_time": "noon"}, "server_time"),
    (CheckRequestSchema, {"digest": "ABC", "count": 1}, "digest"),
    (CheckRequestSchema, {"digest": "a" * 64, "count": -1}, "count"),
    (CheckResponseSchema, {"match": "perhaps", "server_count": 0, "resync": False}, "match"),
])
def test_validation_names_the_field(schema_cls: type[Schema], data: dict[str, Any], field: str) -> None:
    assert field in _messages(schema_cls(), data)


def test_a_bad_op_in_a_push_is_located() -> None:
    messages = _messages(PushRequestSchema(), {"ops": [OP, {**OP, "payload": None}]})
    assert messages == {"ops": {1: {"payload": ["Field may not be null."]}}}
