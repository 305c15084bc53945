"""Case versions as ETags: If-Match on writes, ETag on reads."""
from __future__ import annotations

from flask import request

from ..domain.errors import PreconditionRequired, VersionMismatch


def if_match_version(required: bool = True) -> int | None:
    """Parse If-Match: "7" or W/"7" (the case version). Missing -> 428 when required; garbage -> 412."""
    raw = request.headers.get("If-Match")
    if raw is None:
        if required:
            raise PreconditionRequired("send If-Match with the ETag from your last read of the case",
                                       field="If-Match")
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 12:
        raise VersionMismatch("If-Match does not hold a case ETag", field="If-Match")
    return int(value)


def etag_for(version: int) -> str:
    return f'"{version}"'


IF_MATCH_PARAM = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
                  "description": "the ETag from the last read of the case"}
