"""Enumerations and protocol constants of the sync wire format.

Values are snake_case strings; the enums subclass `str` so a member compares equal to its wire value
(`VisitOutcome.refused == "refused"`) and serialises as that string.
"""

from __future__ import annotations

from enum import Enum


class VisitOutcome(str, Enum):
    """Outcome of a home visit (DESIGN "Enquiries")."""

    child_seen = "child_seen"
    family_spoken_to = "family_spoken_to"
    no_answer = "no_answer"
    no_longer_resides = "no_longer_resides"
    new_address_obtained = "new_address_obtained"
    refused = "refused"


class AddressCheckSource(str, Enum):
    """Where an address check was made."""

    housing_provider = "housing_provider"
    council_tax = "council_tax"
    electoral_register = "electoral_register"
    address_database = "address_database"
    health = "health"


class AddressCheckResult(str, Enum):
    """What an address check found."""

    confirmed_at_address = "confirmed_at_address"
    not_at_address = "not_at_address"
    new_address_found = "new_address_found"
    no_record = "no_record"


class PartnerCheckAgency(str, Enum):
    """Agencies a partner check can be made with (recorded on the server, not pushed by devices today)."""

    childrens_social_care = "childrens_social_care"
    virtual_school = "virtual_school"
    police = "police"
    health = "health"
    other_la = "other_la"
    ehe_team = "ehe_team"
    s2s_lost_pupil = "s2s_lost_pupil"


class OpKind(str, Enum):
    """Operation kinds this protocol version understands. `Op.kind` is a plain str so unknown kinds survive."""

    record_home_visit = "record_home_visit"
    record_address_check = "record_address_check"
    attach_photo = "attach_photo"
    propose_case_change = "propose_case_change"
    acknowledge_assignment = "acknowledge_assignment"


class OpStatus(str, Enum):
    """The server's verdict on one pushed op."""

    applied = "applied"
    duplicate = "duplicate"  # same op_id, same fingerprint: the first result is repeated
    clash = "clash"  # same op_id, different fingerprint: reported, never merged
    conflict_soft = "conflict_soft"  # applied; other fields changed meanwhile; flagged
    conflict_hard = "conflict_hard"  # a proposed field changed meanwhile; both values kept for review
    quarantined = "quarantined"  # kept for a supervisor, not applied; see QuarantineReason


class QuarantineReason(str, Enum):
    """Why an op was quarantined rather than applied."""

    invalid = "invalid"
    unknown_kind = "unknown_kind"
    out_of_scope = "out_of_scope"
    case_closed = "case_closed"
    unknown_case = "unknown_case"
    account_disabled = "account_disabled"  # pushed by a retired device of a disabled account (a leaver)
    server_error = "server_error"  # the server failed on it (its fault, not the device's); kept for review


PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOL_VERSIONS: frozenset[int] = frozenset({1})
PROTOCOL_HEADER = "CME-Sync-Protocol"

# Batch limits, shared so the client can size its batches to what the server accepts.
MAX_PUSH_OPS = 500
MAX_PULL_LIMIT = 500
DEFAULT_PULL_LIMIT = 100
