"""/api/sync: pull (state down), push (ops up), check (digest), goodbye (a retired device signs off)."""
from __future__ import annotations

from flask_smorest import Blueprint

from schemas.sync_messages import (CheckRequestSchema, CheckResponseSchema, PullRequestSchema,
                                   PullResponseSchema, PushRequestSchema, PushResponseSchema)
from ..service import devices, pull, push
from ..service.clock import utcnow
from .requests import BEARER, run_device

blp = Blueprint("sync", __name__, url_prefix="/api/sync", description="Offline sync for field devices")

PROTOCOL_PARAM = {"in": "header", "name": "CME-Sync-Protocol", "required": True,
                  "schema": {"type": "string", "enum": ["1"]}, "description": "sync protocol version"}
SYNC_DOC = {"security": BEARER, "parameters": [PROTOCOL_PARAM]}


@blp.route("/pull", methods=["GET"])
@blp.arguments(PullRequestSchema, location="query")
@blp.response(200, PullResponseSchema)
@blp.doc(**SYNC_DOC)
def pull_changes(query):
    """Case snapshots changed since the cursor, removals, the next cursor and whether more remain.

    With `digest` and `count` (what the device holds now) the answer carries the consistency check too."""
    holding = (query["digest"], query["count"]) if "digest" in query else None
    # one transaction, authentication in it
    return run_device(pull.pull, query.get("cursor"), query["limit"], holding)


@blp.route("/push", methods=["POST"])
@blp.arguments(PushRequestSchema)
@blp.response(200, PushResponseSchema)
@blp.doc(**SYNC_DOC)
def push_ops(body):
    """Apply a batch of ops, each at most once; one result per op, in order."""
    # one transaction: authentication, every op (each in its savepoint), one commit
    return {"results": run_device(push.push, body["ops"]), "server_time": utcnow()}


@blp.route("/check", methods=["POST"])
@blp.arguments(CheckRequestSchema)
@blp.response(200, CheckResponseSchema)
@blp.doc(**SYNC_DOC)
def check(body):
    """Does the device hold what the server sent it? If not, the device resyncs."""
    return run_device(pull.check, body["digest"], body["count"])


@blp.route("/goodbye", methods=["POST"])
@blp.response(204)
@blp.doc(**SYNC_DOC)
def goodbye():
    """A retired device has pushed everything and erased itself."""
    run_device(devices.goodbye)
