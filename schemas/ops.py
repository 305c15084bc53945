"""The op envelope and the per-op result on the wire.

`OpSchema` mirrors `sync.ops.Op.from_wire` (same structural rules, unknown envelope keys ignored); everything
else about an op, including its payload and the op_id's UUID form, is judged by `sync.ops.validate_payload` so
that one bad op is quarantined on its own instead of failing the whole push.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from sync.ops import MAX_KIND, MAX_OP_ID
from sync.vocabulary import OpStatus, QuarantineReason

OP_STATUSES = [s.value for s in OpStatus]
QUARANTINE_REASONS = [r.value for r in QuarantineReason]


class OpSchema(Schema):
    """One operation as pushed by a device."""

    class Meta:
        unknown = EXCLUDE

    op_id = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_OP_ID), validate.Predicate("strip", error="Must not be blank.")],
        # No "format": "uuid" here: a malformed id is quarantined per op by sync.ops, not rejected with the batch.
        metadata={"description": "Client-made UUID (lowercase, hyphenated); the idempotency key"},
    )
    kind = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_KIND),
        metadata={"description": "An OpKind value; unknown kinds are accepted here and quarantined"},
    )
    case_id = fields.Integer(strict=True, allow_none=True, load_default=None)
    device_time = fields.String(
        required=True, metadata={"description": "ISO 8601 date-time with offset, from the device clock"}
    )
    payload = fields.Dict(keys=fields.String(), required=True, metadata={"description": "Per-kind payload"})
    base_version = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        metadata={"description": "Case version the edit was made against (propose_case_change)"},
    )


class OpResultSchema(Schema):
    """The server's verdict on one op; repeated verbatim for a duplicate push."""

    class Meta:
        unknown = EXCLUDE

    op_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(OP_STATUSES))
    reason = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(QUARANTINE_REASONS))
    detail = fields.String(allow_none=True, load_default=None)
    case_id = fields.Integer(strict=True, allow_none=True, load_default=None)
    case_version = fields.Integer(strict=True, allow_none=True, load_default=None)
    result = fields.Dict(
        keys=fields.String(), allow_none=True, load_default=None,
        metadata={"description": "Kind-specific outcome, e.g. the created enquiry id"},
    )
    hard_fields = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Raw(allow_none=True), validate=validate.Length(equal=2)),
        allow_none=True,
        load_default=None,
        metadata={"description": "Hard conflicts: field path -> [server_value, device_value]"},
    )

    @validates_schema
    def _quarantine_has_reason(self, data: dict[str, Any], **_: Any) -> None:
        # A quarantined op without a reason leaves the device unable to tell the officer why.
        if data.get("status") == OpStatus.quarantined.value and not data.get("reason"):
            raise ValidationError("required when status is quarantined", field_name="reason")
