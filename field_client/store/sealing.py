"""How the device store seals what it keeps: the associated-data and padding encodings, the keys derived from the
data key, and the sealed manifest. Every part of the store seals through these, so one binding rule holds."""

from __future__ import annotations

import json
import os
from typing import Any

from field_client import crypto
from field_client.store.errors import StoreDamaged, StoreTampered
from field_client.store.manifest import Tally

WEAK_KDF_FLAG = "CME_FIELD_TEST_WEAK_KDF"


def weak_kdf_allowed() -> bool:
    """Test fixtures set CME_FIELD_TEST_WEAK_KDF=1 to use a cheap KDF; nothing else may weaken a real store."""
    return os.environ.get(WEAK_KDF_FLAG) == "1"


def ad(*parts: str | int | bool | None) -> bytes:
    # A JSON list is an unambiguous encoding of the binding, whatever the ids contain.
    return b"cme-field/v2\x00" + json.dumps(parts, separators=(",", ":")).encode("utf-8")


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def need_text(**values: Any) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")


def bucket(length: int, cap: int | None = None) -> int:
    """Padded size: powers of two from 64 B to 64 KiB, then whole 64 KiB steps, so a length says little."""
    if length <= 64:
        size = 64
    elif length <= 65536:
        size = 1 << (length - 1).bit_length()
    else:
        size = -(-length // 65536) * 65536
    return size if cap is None else max(length, min(size, cap))


def pad(data: bytes) -> bytes:
    framed = len(data).to_bytes(4, "big") + data
    return framed + bytes(bucket(len(framed)) - len(framed))


def unpad(plain: bytes, what: str) -> bytes:
    size = int.from_bytes(plain[:4], "big")
    if len(plain) < 4 or size > len(plain) - 4:
        raise StoreTampered(f"{what} has a bad length frame: the store was altered")
    return plain[4:4 + size]


class Keys:
    """The data key and the keys derived from it: one AEAD for values, one PRF for row tags, one for the tally."""

    def __init__(self, data_key: bytes) -> None:
        self.data_key = data_key
        self.aead = crypto.Aead(data_key)
        self.tag_key = crypto.subkey(data_key, "row-tag")
        self.mac_key = crypto.subkey(data_key, "manifest")

    def tag(self, *parts: str | int | None) -> str:
        """Opaque, deterministic row id: lookups work, yet the column names no case, op or key."""
        return crypto.mac(self.tag_key, ad(*parts))[:16].hex()


def open_sealed(keys: Keys, blob: Any, binding: bytes, what: str) -> bytes:
    if not isinstance(blob, bytes):
        raise StoreTampered(f"{what} is not ciphertext: the store was altered")
    try:
        return keys.aead.open(blob, binding)
    except crypto.AuthError:
        raise StoreTampered(f"{what} failed its integrity check: the store was altered or damaged") from None


def seal_manifest(keys: Keys, tally: Tally) -> bytes:
    return keys.aead.seal(pad(dumps(tally.to_doc())), ad("manifest"))


def open_manifest(keys: Keys, blob: Any) -> Tally:
    try:
        return Tally.from_doc(json.loads(unpad(open_sealed(keys, blob, ad("manifest"), "the manifest"), "manifest")))
    except (StoreTampered, ValueError) as exc:
        raise StoreDamaged(f"its sealed manifest cannot be read: {exc}") from None
