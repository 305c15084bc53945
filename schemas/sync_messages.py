"""Request and response bodies of the three sync endpoints: pull (state down), push (ops up), check (digest)."""

from __future__ import annotations

from datetime import timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from schemas.ops import OpResultSchema, OpSchema
from schemas.snapshot import CaseSnapshotSchema
from sync.vocabulary import DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT, MAX_PUSH_OPS

_SHA256_HEX = validate.Regexp(r"^[0-9a-f]{64}\Z", error="Must be 64 lowercase hex characters.")


def _server_time() -> fields.AwareDateTime:
    return fields.AwareDateTime(required=True, default_timezone=timezone.utc)


class _ResponseSchema(Schema):
    # Loaded by the client: tolerate fields a newer server adds.
    class Meta:
        unknown = EXCLUDE


class PullRequestSchema(Schema):
    cursor = fields.String(
        allow_none=True, load_default=None, metadata={"description": "Opaque cursor from the last pull; none = start"}
    )
    limit = fields.Integer(
        strict=False,  # may arrive as a query-string value
        load_default=DEFAULT_PULL_LIMIT,
        validate=validate.Range(min=1, max=MAX_PULL_LIMIT),
    )
    # The consistency check folded into the pull: what the device holds before this page (both or neither).
    digest = fields.String(
        validate=_SHA256_HEX, metadata={"description": "sync.cursor.holdings_digest of what is held now"}
    )
    count = fields.Integer(strict=False, validate=validate.Range(min=0),
                           metadata={"description": "How many cases the digest covers"})

    @validates_schema
    def _digest_with_count(self, data, **_):
        for given, missing in (("digest", "count"), ("count", "digest")):
            if given in data and missing not in data:
                raise ValidationError(f"Required with {given}.", missing)


class PullCheckSchema(_ResponseSchema):
    match = fields.Boolean(required=True, metadata={"description": "false: this page is a resync order"})
    server_count = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))


class PullResponseSchema(_ResponseSchema):
    cases = fields.List(fields.Nested(CaseSnapshotSchema), required=True)
    removed = fields.List(
        fields.Integer(strict=True), required=True,
        metadata={"description": "Case ids that left the device's scope: purge once their unsent ops are pushed"},
    )
    cursor = fields.String(required=True, metadata={"description": "Store only after the cases are durable"})
    more = fields.Boolean(required=True, metadata={"description": "Pull again at once with the new cursor"})
    resync = fields.Boolean(required=True, metadata={"description": "Discard the scope and pull from the start"})
    server_time = _server_time()
    offline_ttl_seconds = fields.Integer(
        allow_none=True, load_default=None,
        metadata={"description": "Lock the device if it has not reached the server for this long"},
    )
    check = fields.Nested(
        PullCheckSchema,
        metadata={"description": "Present only when the pull sent a digest: did it match the server's holdings?"},
    )


class PushRequestSchema(Schema):
    ops = fields.List(
        fields.Nested(OpSchema), required=True, validate=validate.Length(min=1, max=MAX_PUSH_OPS)
    )


class PushResponseSchema(_ResponseSchema):
    results = fields.List(
        fields.Nested(OpResultSchema), required=True, metadata={"description": "One per pushed op, in push order"}
    )
    server_time = _server_time()


class CheckRequestSchema(Schema):
    digest = fields.String(
        required=True, validate=_SHA256_HEX, metadata={"description": "sync.cursor.holdings_digest of what is held"}
    )
    count = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))


class CheckResponseSchema(_ResponseSchema):
    match = fields.Boolean(required=True)
    server_count = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    resync = fields.Boolean(required=True)
