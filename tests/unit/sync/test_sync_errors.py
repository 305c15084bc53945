import pytest

from sync.errors import (
    ERRORS_BY_CODE,
    PROBLEM_TYPE_BASE,
    CursorInvalid,
    DeviceLocked,
    DeviceRetired,
    DeviceRevoked,
    OpInvalid,
    ResyncRequired,
    SyncError,
    UnsupportedProtocol,
    check_protocol_version,
    error_class_for_type,
    problem_type,
)


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (UnsupportedProtocol, "unsupported-protocol"),
        (CursorInvalid, "cursor-invalid"),
        (OpInvalid, "op-invalid"),
        (DeviceRevoked, "device-revoked"),
        (DeviceRetired, "device-retired"),
        (DeviceLocked, "device-locked"),
        (ResyncRequired, "resync-required"),
    ],
)
def test_stable_codes_and_types(cls: type[SyncError], code: str) -> None:
    assert issubclass(cls, SyncError)
    assert cls.code == code
    assert cls.title
    assert ERRORS_BY_CODE[code] is cls
    assert error_class_for_type(problem_type(code)) is cls


def test_problem_type_uri() -> None:
    assert PROBLEM_TYPE_BASE == "https://cme.example/problems/"
    assert problem_type("cursor-invalid") == "https://cme.example/problems/cursor-invalid"
    assert error_class_for_type("about:blank") is None
    assert error_class_for_type(None) is None


def test_to_problem_body() -> None:
    body = ResyncRequired("scope rebuilt by supervisor").to_problem()
    assert body == {
        "type": "https://cme.example/problems/resync-required",
        "title": ResyncRequired.title,
        "status": 409,
        "detail": "scope rebuilt by supervisor",
    }
    assert DeviceRevoked().detail == DeviceRevoked.title


def test_op_invalid_names_field() -> None:
    err = OpInvalid("op_id", "required")
    assert (err.field, err.message) == ("op_id", "required")
    assert "op_id" in str(err)


@pytest.mark.parametrize("value", [1, "1", " 1 "])
def test_supported_protocol_version(value: object) -> None:
    assert check_protocol_version(value) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, "", "2", 0, 2, "v1", "1.0", True, "١"])
def test_unsupported_protocol_version_names_supported(value: object) -> None:
    with pytest.raises(UnsupportedProtocol) as info:
        check_protocol_version(value)  # type: ignore[arg-type]
    assert "supported versions: 1" in str(info.value)
