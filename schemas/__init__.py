"""Wire schemas (marshmallow 4) shared by the server (flask-smorest, OpenAPI) and the field client.

- `schemas.ops`: `OpSchema` (the op envelope) and `OpResultSchema` (the server's verdict on one op)
- `schemas.snapshot`: `CaseSnapshotSchema`, the least data a device holds about a case
- `schemas.sync_messages`: pull, push and check request/response bodies

Payload contents of an op are judged by `sync.ops.validate_payload`, not here: a push must never be rejected as a
whole because one op is bad (DESIGN principle 3), so `OpSchema` checks only what `sync.ops.Op.from_wire` needs
to represent an op, and the server quarantines the rest op by op.

Schemas the client loads from the server ignore unknown keys (EXCLUDE), so the device keeps only the fields it
knows (least data) and tolerates additions. Request schemas the server loads raise on unknown keys, except the
op envelope, which ignores them exactly as `Op.from_wire` does. Date-times are ISO 8601 with offset; a naive value
is read as UTC.
"""

from schemas.ops import OpResultSchema, OpSchema
from schemas.snapshot import CaseSnapshotSchema
from schemas.sync_messages import (
    CheckRequestSchema,
    CheckResponseSchema,
    PullRequestSchema,
    PullResponseSchema,
    PushRequestSchema,
    PushResponseSchema,
)

__all__ = [
    "OpSchema", "OpResultSchema", "CaseSnapshotSchema",
    "PullRequestSchema", "PullResponseSchema", "PushRequestSchema", "PushResponseSchema",
    "CheckRequestSchema", "CheckResponseSchema",
]
