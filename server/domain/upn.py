"""Unique Pupil Numbers: permanent and temporary forms, with their check letter (python-stdnum)."""
from __future__ import annotations

from stdnum.exceptions import ValidationError
from stdnum.gb import upn

from .errors import InvalidInput


def normalise_upn(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return upn.validate(value)
    except ValidationError as exc:
        raise InvalidInput(f"not a valid UPN: {exc.message}", field="upn") from None
