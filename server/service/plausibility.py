"""Visit and check times from a device are the device's clock: implausible ones are applied but flagged.

A fact is the officer's word and is never refused for its time (nothing captured is lost), but a time later
than the server received it (beyond a clock-skew allowance), or earlier than the case could have been known
about (its creation or its earliest referral), is most likely a wrong device clock or a mistyped date: the
supervisor is told, through the review queue, rather than the deadlines and returns silently using it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from ..adapters.models import Case
from ..adapters.sync_models import ReviewItem
from ..domain.access import Actor
from sync.ops import Op
from . import audit
from .clock import as_utc, utcnow

CLOCK_SKEW = timedelta(minutes=10)  # device clocks drift; a few minutes either way is not worth a flag
FLAGGED = "flagged"  # review item category: applied, but a supervisor should look
IMPLAUSIBLE_TIME = "implausible_time"


def implausible_time(occurred: datetime, received: datetime, known_since: datetime) -> str | None:
    """Why `occurred` cannot be right, or None. All three are aware datetimes."""
    if occurred > received + CLOCK_SKEW:
        return f"recorded as {occurred.isoformat()}, after the server received it at {received.isoformat()}"
    if occurred < known_since - CLOCK_SKEW:
        return (f"recorded as {occurred.isoformat()}, before the case was referred or created "
                f"({known_since.isoformat()})")
    return None


def flag_if_implausible(uow, actor: Actor, op: Op, case: Case, recorded: dict) -> str | None:
    """Flag an applied visit or check (`recorded`: the enquiry as presented) whose time is implausible; returns
    the flag, or None. Judged from the presented times: reloading the enquiry cost a flush and a query per op
    (the session holds it weakly), about half a 500-op push on PostgreSQL."""
    first_referral = uow.cases.first_referral_received(case.id)
    known_since = min(as_utc(case.created_at), as_utc(first_referral) if first_referral else as_utc(case.created_at))
    why = implausible_time(as_utc(recorded["occurred_at"]), as_utc(recorded["recorded_at"] or utcnow()), known_since)
    if why is None:
        return None
    enquiry = uow.enquiries.get(recorded["id"])  # only a flagged one is loaded again
    enquiry.flagged = enquiry.flagged or IMPLAUSIBLE_TIME
    uow.review_items.add(ReviewItem(
        op_id=op.op_id, device_id=actor.device_id, officer_id=actor.user_id, case_id=case.id, category=FLAGGED,
        reason=IMPLAUSIBLE_TIME, detail=why, op=op.to_wire(), created_at=utcnow(), open=True))
    audit.record(uow, actor, "op.flag", case.id, IMPLAUSIBLE_TIME)
    return IMPLAUSIBLE_TIME
