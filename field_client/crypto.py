"""Cryptography for the field client's device store: the only importer of `cryptography`.

Two layers:
- an AEAD (AES-256-GCM, random 96-bit nonce per message) that seals every value with associated data;
- a key envelope: a random 256-bit data key wrapped by a key derived from the officer's passphrase
  with scrypt. The header (KDF parameters, salt, format facts) is the wrapping's associated data, so it
  cannot be swapped without the unwrap failing.

The cost starts at OWASP's scrypt minimum (N=2^17, r=8, p=1: 128 MiB) and `calibrate` raises it on a fast
machine towards about half a second, memory first (up to a cap a field laptop can spare), then passes.

A key-check value (HMAC under a second scrypt output, so it depends only on passphrase, salt and cost)
tells "wrong passphrase" apart from "the wrapped key or the rest of the header was damaged"; it allows no
guessing that the wrapped key did not already allow. An edited KDF parameter necessarily looks like a
wrong passphrase: nothing keyless can tell the two apart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
OVERHEAD = NONCE_LEN + TAG_LEN  # bytes a sealed value is longer than its plaintext
SALT_LEN = 16
KDF_NAME = "scrypt"
# Bounds refuse a header edited to make the KDF trivially cheap or to exhaust memory on open. MIN_N is this
# low only so tests can run fast; the store refuses such a cost outside tests (store.sealing.weak_kdf_allowed).
MIN_N, MAX_N = 2**10, 2**20
MAX_R, MAX_P = 32, 16
OWASP_N, OWASP_R, OWASP_P = 2**17, 8, 1  # OWASP Password Storage Cheat Sheet minimum for scrypt
CALIBRATED_MAX_N = 2**18  # 256 MiB: the most memory calibration asks of a device
TARGET_SECONDS = 0.5

_WRAP_AD = b"cme-field/wrap-key/v1\x00"
_CHECK_AD = b"cme-field/key-check/v1\x00"


class AuthError(Exception):
    """A sealed value or the key envelope failed authentication."""


class PassphraseRejected(AuthError):
    """The passphrase does not unlock the envelope."""


class HeaderError(ValueError):
    """The envelope header is unreadable or its KDF parameters are out of range."""


@dataclass(frozen=True)
class KdfParams:
    n: int
    r: int = 8
    p: int = 1
    salt: bytes = b""

    @classmethod
    def fresh(cls, n: int, r: int = 8, p: int = 1) -> KdfParams:
        params = cls(n=n, r=r, p=p, salt=os.urandom(SALT_LEN))
        params.validate()
        return params

    def cost(self) -> int:
        """Work per derivation (memory x passes), to compare two settings."""
        return self.n * self.r * self.p

    def meets_minimum(self) -> bool:
        return self.n >= OWASP_N and self.r >= OWASP_R and self.cost() >= OWASP_N * OWASP_R * OWASP_P

    def validate(self) -> None:
        for value in (self.n, self.r, self.p):
            if not isinstance(value, int) or isinstance(value, bool):
                raise HeaderError("KDF parameters must be integers")
        if not MIN_N <= self.n <= MAX_N or self.n & (self.n - 1):
            raise HeaderError(f"scrypt n={self.n} is not a power of two in [{MIN_N}, {MAX_N}]")
        if not 1 <= self.r <= MAX_R or not 1 <= self.p <= MAX_P:
            raise HeaderError(f"scrypt r={self.r}, p={self.p} out of range")
        if len(self.salt) != SALT_LEN:
            raise HeaderError("KDF salt has the wrong length")


@dataclass(frozen=True)
class Envelope:
    """What the store keeps on disk to recover its data key."""

    header: bytes
    wrapped_key: bytes
    key_check: bytes


def calibrate(target: float = TARGET_SECONDS, floor: KdfParams | None = None) -> KdfParams:
    """Fresh parameters at least OWASP's minimum (and at least `floor`), raised while this machine stays
    under `target` seconds: doubling N (memory-hardness) up to CALIBRATED_MAX_N, then more passes (p)."""
    start = time.perf_counter()
    Scrypt(salt=os.urandom(SALT_LEN), length=2 * KEY_LEN, n=OWASP_N, r=OWASP_R, p=1).derive(b"calibration")
    per_unit = max(time.perf_counter() - start, 1e-6) / OWASP_N  # seconds per unit of N at r=8, p=1
    n = OWASP_N
    while n < CALIBRATED_MAX_N and 2 * n * per_unit <= target:
        n *= 2
    p = max(1, min(MAX_P, int(target / (n * per_unit))))
    if floor is not None and floor.cost() > n * OWASP_R * p:
        return KdfParams.fresh(max(n, floor.n), max(OWASP_R, floor.r), max(p, floor.p))
    return KdfParams.fresh(n, OWASP_R, p)


def subkey(data_key: bytes, label: str) -> bytes:
    """A key for one purpose (row tags, manifest MAC) derived from the data key; HMAC-SHA256 is a PRF."""
    return hmac.new(data_key, b"cme-field/subkey/v1\x00" + label.encode("ascii"), hashlib.sha256).digest()


def mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def checksum(*parts: bytes) -> bytes:
    """Keyless SHA-256 over length-prefixed parts: tells accidental damage apart from a wrong passphrase."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def random_bytes(length: int) -> bytes:
    return os.urandom(length)


def same_bytes(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


class Aead:
    """AES-256-GCM; a sealed value is nonce || ciphertext || tag."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_LEN:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, ad: bytes) -> bytes:
        nonce = os.urandom(NONCE_LEN)  # random nonces are safe far beyond a device's message count
        return nonce + self._aead.encrypt(nonce, plaintext, ad)

    def open(self, sealed: bytes, ad: bytes) -> bytes:
        if len(sealed) < OVERHEAD:
            raise AuthError("sealed value is shorter than nonce and tag")
        try:
            return self._aead.decrypt(sealed[:NONCE_LEN], sealed[NONCE_LEN:], ad)
        except InvalidTag:
            raise AuthError("authentication tag mismatch") from None


def build_header(params: KdfParams, extra: dict[str, Any]) -> bytes:
    """Canonical header bytes; `extra` carries store facts (format, chunk size) to bind too."""
    doc = dict(extra, kdf=KDF_NAME, n=params.n, r=params.r, p=params.p, salt=params.salt.hex())
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")


def parse_header(header: bytes) -> tuple[KdfParams, dict[str, Any]]:
    try:
        doc = json.loads(header.decode("ascii"))
        kdf = doc.pop("kdf")
        params = KdfParams(n=doc.pop("n"), r=doc.pop("r"), p=doc.pop("p"),
                           salt=bytes.fromhex(doc.pop("salt")))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise HeaderError("store header is unreadable") from None
    if kdf != KDF_NAME:
        raise HeaderError(f"unknown key derivation {kdf!r}")
    params.validate()
    return params, doc


def _derive(passphrase: str, params: KdfParams) -> tuple[bytes, bytes]:
    # NFC so the same passphrase typed on different keyboards derives the same key.
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    material = Scrypt(salt=params.salt, length=2 * KEY_LEN, n=params.n, r=params.r, p=params.p).derive(secret)
    return material[:KEY_LEN], material[KEY_LEN:]


def _check_value(check_key: bytes) -> bytes:
    return hmac.new(check_key, _CHECK_AD, hashlib.sha256).digest()


def seal_envelope(data_key: bytes, passphrase: str, params: KdfParams, extra: dict[str, Any]) -> Envelope:
    header = build_header(params, extra)
    kek, check_key = _derive(passphrase, params)
    wrapped = Aead(kek).seal(data_key, _WRAP_AD + header)
    return Envelope(header=header, wrapped_key=wrapped, key_check=_check_value(check_key))


def open_envelope(envelope: Envelope, passphrase: str) -> bytes:
    """Return the data key; PassphraseRejected, AuthError (damage) or HeaderError otherwise."""
    params, _ = parse_header(envelope.header)
    kek, check_key = _derive(passphrase, params)
    check_ok = hmac.compare_digest(_check_value(check_key), envelope.key_check)
    try:
        key = Aead(kek).open(envelope.wrapped_key, _WRAP_AD + envelope.header)
    except AuthError:
        if check_ok:
            raise AuthError("the wrapped data key or its header is damaged") from None
        raise PassphraseRejected("passphrase not accepted") from None
    if not check_ok or len(key) != KEY_LEN:
        raise AuthError("the key check value is damaged")
    return key
