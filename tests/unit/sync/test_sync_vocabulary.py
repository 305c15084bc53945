"""The wire vocabulary is a contract with the server domain and deployed devices: values must not drift."""

from sync.vocabulary import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    SUPPORTED_PROTOCOL_VERSIONS,
    AddressCheckResult,
    AddressCheckSource,
    OpKind,
    OpStatus,
    PartnerCheckAgency,
    QuarantineReason,
    VisitOutcome,
)


def _values(enum: type) -> list[str]:
    return [m.value for m in enum]


def test_enum_values_are_the_wire_strings() -> None:
    assert _values(VisitOutcome) == [
        "child_seen", "family_spoken_to", "no_answer", "no_longer_resides", "new_address_obtained", "refused",
    ]
    assert _values(AddressCheckSource) == [
        "housing_provider", "council_tax", "electoral_register", "address_database", "health",
    ]
    assert _values(AddressCheckResult) == ["confirmed_at_address", "not_at_address", "new_address_found", "no_record"]
    assert _values(PartnerCheckAgency) == [
        "childrens_social_care", "virtual_school", "police", "health", "other_la", "ehe_team", "s2s_lost_pupil",
    ]
    assert _values(OpKind) == [
        "record_home_visit", "record_address_check", "attach_photo", "propose_case_change", "acknowledge_assignment",
    ]
    assert _values(OpStatus) == ["applied", "duplicate", "clash", "conflict_soft", "conflict_hard", "quarantined"]
    assert _values(QuarantineReason) == ["invalid", "unknown_kind", "out_of_scope", "case_closed", "unknown_case",
                                         "account_disabled", "server_error"]


def test_members_compare_equal_to_their_strings() -> None:
    assert OpStatus.applied == "applied"
    assert OpKind("attach_photo") is OpKind.attach_photo


def test_protocol_constants() -> None:
    assert PROTOCOL_VERSION == 1
    assert PROTOCOL_VERSION in SUPPORTED_PROTOCOL_VERSIONS
    assert PROTOCOL_HEADER == "CME-Sync-Protocol"
