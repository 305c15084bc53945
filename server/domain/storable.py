"""What a database column can hold: PostgreSQL text refuses NUL (U+0000), and no UTF-8 column or page can hold
a lone surrogate (U+D800..U+DFFF). Refused input is still kept for review, so it is made storable first: each
such character becomes U+FFFD, the replacement character a reader recognises as "something was here"."""
from __future__ import annotations

import re
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str, limit: int | None = None) -> str:
    """`text` with unstorable characters replaced, cut to `limit` characters when given."""
    clean = UNSTORABLE.sub(REPLACEMENT, text)
    return clean if limit is None else clean[:limit]


def storable_json(value: Any) -> Any:
    """A JSON value with every string (keys included) made storable; other values are kept as they are."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(key)): storable_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    return value
