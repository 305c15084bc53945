"""The storable-text rule lives in the domain (the API screens input with it too); re-exported for the adapters."""
from ..domain.storable import REPLACEMENT, UNSTORABLE, storable, storable_json

__all__ = ["REPLACEMENT", "UNSTORABLE", "storable", "storable_json"]
