"""Primitives under the device store: AEAD binding and the passphrase key envelope."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from field_client import crypto

CHEAP_N = 2**10


def _params() -> crypto.KdfParams:
    return crypto.KdfParams.fresh(CHEAP_N)


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=2048), ad=st.binary(max_size=64), data=st.data())
def test_seal_round_trips_and_any_flipped_bit_is_refused(plaintext: bytes, ad: bytes, data: st.DataObject) -> None:
    aead = crypto.Aead(crypto.new_data_key())
    sealed = aead.seal(plaintext, ad)
    assert aead.open(sealed, ad) == plaintext
    assert len(sealed) == len(plaintext) + crypto.OVERHEAD
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    flipped = bytearray(sealed)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(crypto.AuthError):
        aead.open(bytes(flipped), ad)


def test_other_associated_data_is_refused() -> None:
    aead = crypto.Aead(crypto.new_data_key())
    sealed = aead.seal(b"payload", b"record/cases/1/v1")
    with pytest.raises(crypto.AuthError):
        aead.open(sealed, b"record/cases/1/v2")


def test_each_seal_uses_a_fresh_nonce() -> None:
    aead = crypto.Aead(crypto.new_data_key())
    assert aead.seal(b"same", b"ad") != aead.seal(b"same", b"ad")


def test_truncated_ciphertext_is_an_auth_error_not_a_crash() -> None:
    with pytest.raises(crypto.AuthError):
        crypto.Aead(crypto.new_data_key()).open(b"short", b"")


def test_envelope_round_trip_and_wrong_passphrase() -> None:
    key = crypto.new_data_key()
    env = crypto.seal_envelope(key, "correct horse", _params(), {"format": 1})
    assert crypto.open_envelope(env, "correct horse") == key
    with pytest.raises(crypto.PassphraseRejected):
        crypto.open_envelope(env, "wrong horse")


def test_damaged_wrapped_key_is_reported_as_damage_not_as_wrong_passphrase() -> None:
    env = crypto.seal_envelope(crypto.new_data_key(), "pw", _params(), {})
    broken = bytearray(env.wrapped_key)
    broken[-1] ^= 0xFF
    with pytest.raises(crypto.AuthError, match="wrapped data key or its header is damaged") as info:
        crypto.open_envelope(crypto.Envelope(env.header, bytes(broken), env.key_check), "pw")
    assert not isinstance(info.value, crypto.PassphraseRejected)


def test_damaged_key_check_is_reported_as_damage() -> None:
    env = crypto.seal_envelope(crypto.new_data_key(), "pw", _params(), {})
    with pytest.raises(crypto.AuthError, match="key check"):
        crypto.open_envelope(crypto.Envelope(env.header, env.wrapped_key, bytes(32)), "pw")


def test_header_is_bound_to_the_wrapping() -> None:
    # Rewriting a non-KDF header fact is damage, reported as such (the passphrase is known right).
    env = crypto.seal_envelope(crypto.new_data_key(), "pw", _params(), {"format": 1})
    edited = env.header.replace(b'"format":1', b'"format":2')
    assert edited != env.header
    with pytest.raises(crypto.AuthError, match="or its header is damaged") as info:
        crypto.open_envelope(crypto.Envelope(edited, env.wrapped_key, env.key_check), "pw")
    assert not isinstance(info.value, crypto.PassphraseRejected)


def test_edited_kdf_cost_never_unlocks() -> None:
    env = crypto.seal_envelope(crypto.new_data_key(), "pw", _params(), {})
    edited = env.header.replace(b'"n":1024', b'"n":2048')
    assert edited != env.header
    with pytest.raises(crypto.PassphraseRejected):
        crypto.open_envelope(crypto.Envelope(edited, env.wrapped_key, env.key_check), "pw")


@pytest.mark.parametrize("n, r, p", [(2**9, 8, 1), (3 * 2**10, 8, 1), (2**21, 8, 1), (2**10, 0, 1), (2**10, 8, 99)])
def test_out_of_range_kdf_parameters_are_refused(n: int, r: int, p: int) -> None:
    with pytest.raises(crypto.HeaderError):
        crypto.KdfParams(n=n, r=r, p=p, salt=bytes(crypto.SALT_LEN)).validate()


def test_unreadable_header_is_a_header_error() -> None:
    for header in (b"", b"not json", b'{"kdf":"scrypt"}', b'{"kdf":"argon9","n":1024,"r":8,"p":1,"salt":"00"}'):
        with pytest.raises(crypto.HeaderError):
            crypto.parse_header(header)


def test_header_round_trips_params_and_extra() -> None:
    params = _params()
    parsed, extra = crypto.parse_header(crypto.build_header(params, {"format": 1, "chunk_size": 4096}))
    assert parsed == params
    assert extra == {"format": 1, "chunk_size": 4096}


def test_passphrase_is_unicode_normalised() -> None:
    key = crypto.new_data_key()
    composed, decomposed = "caf\u00e9 au lait", "cafe\u0301 au lait"
    env = crypto.seal_envelope(key, composed, _params(), {})
    assert crypto.open_envelope(env, decomposed) == key
