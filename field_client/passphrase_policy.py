"""The rule for a new store passphrase: long enough, and not one of the choices an attacker tries first.

The passphrase is the only secret between a stolen device and the children's records on it, and the KDF only
slows each guess: a passphrase from the top of a breach list falls in the first few guesses whatever the cost.
So a new passphrase must be at least MIN_LENGTH characters, use more than a handful of different characters,
not be a run (1234..., abcd..., qwerty...), and not be a common password or passphrase (the list shipped in
field_client/data), even with digits or symbols added at either end or with different case or spacing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

from field_client.store.errors import WeakPassphrase

MIN_LENGTH = 12
MIN_DISTINCT = 5
_RUNS = ("0123456789012345678901234567890", "9876543210987654321098765432109",
         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")


@cache
def common_choices() -> frozenset[str]:
    text = resources.files("field_client").joinpath("data/common_passphrases.txt").read_text("utf-8")
    return frozenset(_fold(line) for line in text.splitlines() if line.strip() and not line.startswith("#"))


_SYMBOLS = str.maketrans({"@": "a", "$": "s", "|": "l"})
_DIGITS = (str.maketrans("013457", "oieast"), str.maketrans("013457", "oleast"))


def _fold(text: str) -> str:
    """Case, accents, spacing and punctuation do not make a common choice uncommon."""
    decomposed = unicodedata.normalize("NFKD", text).casefold().translate(_SYMBOLS)
    return "".join(ch for ch in decomposed if ch.isalnum())


def _variants(text: str) -> set[str]:
    """The folded passphrase, its core without digits added at either end, and the core with "leet"
    digits read as letters ("p@ssw0rd2025" is "password")."""
    folded = _fold(text)
    core = re.sub(r"^[0-9]+|[0-9]+$", "", folded)
    return {folded, core} | {core.translate(table) for table in _DIGITS}


def _is_run(folded: str) -> bool:
    return any(folded in run for run in _RUNS) or len(set(folded)) <= 2


def check(passphrase: object) -> None:
    """WeakPassphrase naming the reason, or nothing if the passphrase may protect a store."""
    if not isinstance(passphrase, str) or not passphrase:
        raise WeakPassphrase("the passphrase must not be empty")
    text = unicodedata.normalize("NFC", passphrase)
    if len(text) < MIN_LENGTH:
        raise WeakPassphrase(f"the passphrase must be at least {MIN_LENGTH} characters long (a few words work well)")
    if len(set(text.casefold())) < MIN_DISTINCT:
        raise WeakPassphrase("the passphrase repeats too few characters: choose a few unrelated words")
    variants = _variants(text)  # "password2024", "1234welcome", "P@ssw0rd": still the common word
    if variants & common_choices() or any(_is_run(v) for v in variants if v):
        raise WeakPassphrase("that passphrase is one of the most common choices: choose a few unrelated words")
