import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.cursor import Cursor, decode_cursor, encode_cursor, holdings_digest
from sync.errors import CursorInvalid

naturals = st.integers(min_value=0, max_value=2**63)


@given(seq=naturals, epoch=naturals)
def test_round_trip(seq: int, epoch: int) -> None:
    token = encode_cursor(seq, epoch)
    assert decode_cursor(token) == Cursor(seq, epoch)
    assert Cursor(seq, epoch).encode() == token


def test_cursor_is_url_safe_and_versioned() -> None:
    token = encode_cursor(123456, 3)
    assert token.startswith("v1.")
    assert all(c.isalnum() or c in "-_." for c in token)


@pytest.mark.parametrize("empty", [None, ""])
def test_no_cursor_means_start(empty: str | None) -> None:
    assert decode_cursor(empty) == Cursor(0, 0)


@pytest.mark.parametrize("bad", [
    "garbage", "v1.", "v2.eyJjIjoxLCJlIjowfQ.00000000", "v1.eyJjIjoxLCJlIjowfQ", "v1.a.b.c", "é", "x" * 500,
])
def test_malformed_cursors_are_rejected(bad: str) -> None:
    with pytest.raises(CursorInvalid):
        decode_cursor(bad)


@given(seq=naturals, epoch=naturals, data=st.data())
def test_any_single_character_change_is_detected(seq: int, epoch: int, data: st.DataObject) -> None:
    token = encode_cursor(seq, epoch)
    i = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from("ABCxyz019-_.").filter(lambda c: c != token[i]))
    with pytest.raises(CursorInvalid):
        decode_cursor(token[:i] + replacement + token[i + 1:])


def test_truncated_cursor_is_detected() -> None:
    token = encode_cursor(99, 1)
    with pytest.raises(CursorInvalid):
        decode_cursor(token[:-1])


def test_encode_rejects_negative_or_non_int() -> None:
    with pytest.raises(ValueError):
        encode_cursor(-1, 0)
    with pytest.raises(ValueError):
        encode_cursor(True, 0)  # type: ignore[arg-type]


def test_holdings_digest_is_order_independent_and_known() -> None:
    import hashlib

    expected = hashlib.sha256(b"2:1\n10:3\n").hexdigest()
    assert holdings_digest([(10, 3), (2, 1)]) == expected
    assert holdings_digest(iter([(2, 1), (10, 3)])) == expected
    assert holdings_digest([]) == hashlib.sha256(b"").hexdigest()


def test_holdings_digest_sees_a_version_change() -> None:
    assert holdings_digest([(1, 1), (2, 1)]) != holdings_digest([(1, 1), (2, 2)])


def test_holdings_digest_rejects_duplicate_case() -> None:
    with pytest.raises(ValueError):
        holdings_digest([(1, 1), (1, 2)])
