"""The cases a device holds: pulled pages, removals, resync and the consistency digest (principles 5-7).

Each pull page is written with its cursor in one store transaction, so a cursor never advances past anything
that is not durable. A case the server removes from scope is purged only once no op for it waits in the
outbox; until then it is kept and listed in the `leaving` state, and purged by a later sync after the push.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from field_client import state
from field_client.store import Store
from field_client.transport import TransportError
from schemas import CaseSnapshotSchema, PullResponseSchema
from sync.cursor import holdings_digest

_PULL = PullResponseSchema()
_SNAPSHOT = CaseSnapshotSchema()


@dataclass(frozen=True)
class Page:
    """One validated pull page; `cases` are JSON-ready snapshots."""

    cases: list[dict[str, Any]]
    removed: list[int]
    cursor: str
    more: bool
    resync: bool
    offline_ttl_seconds: int | None
    check: dict[str, Any] | None = None  # the consistency check's answer, when the pull asked for it


def parse_page(raw: dict[str, Any]) -> Page:
    try:
        loaded = _PULL.load(raw)
    except ValidationError as exc:
        fields = ", ".join(sorted(str(k) for k in exc.normalized_messages()))
        raise TransportError(f"the server's pull answer is malformed ({fields})", retryable=False) from None
    ttl = raw.get("offline_ttl_seconds")
    ttl = ttl if isinstance(ttl, int) and not isinstance(ttl, bool) and ttl > 0 else None
    cases = [_SNAPSHOT.dump(case) for case in loaded["cases"]]
    return Page(cases, list(loaded["removed"]), loaded["cursor"], loaded["more"], loaded["resync"], ttl,
                loaded.get("check"))


class Holdings:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- reading ---------------------------------------------------------------------------------
    def get(self, case_id: int) -> dict[str, Any] | None:
        return self.store.records.get(state.CASES, str(case_id))

    def version(self, case_id: int) -> int | None:
        return self.store.records.version_of(state.CASES, str(case_id))

    def all(self) -> list[dict[str, Any]]:
        return [data for _, _, data in self.store.records.list(state.CASES)]

    def leaving(self) -> list[int]:
        return list(self.store.state.get(state.LEAVING, []))

    def fingerprint(self) -> str:
        """Changes whenever the held cases or the leaving list change; cheap (nothing is decrypted)."""
        return f"{self.store.records.sealed_fingerprint(state.CASES)}:{sorted(self.leaving())}"

    def digest(self) -> tuple[str, int]:
        """holdings_digest over the held cases that are in scope (leaving ones are not the server's business)."""
        leaving = set(self.leaving())
        held = self.store.records.ids_and_versions(state.CASES)
        pairs = [(int(cid), ver) for cid, ver in held if int(cid) not in leaving]
        return holdings_digest(pairs), len(pairs)

    # ---- writing ---------------------------------------------------------------------------------
    def apply_page(self, page: Page, now_iso: str) -> tuple[int, int, int]:
        """Store a page's snapshots, removals and cursor atomically; return (stored, purged, kept_leaving)."""
        purged = kept = 0
        with self.store.transaction():
            leaving = set(self.leaving())
            for snapshot in page.cases:
                self.store.records.put(state.CASES, str(snapshot["id"]), snapshot["version"], snapshot)
                leaving.discard(snapshot["id"])
            for case_id in page.removed:
                if self._purge_or_keep(case_id, leaving):
                    purged += 1
                else:
                    kept += 1
            self.store.state.set(state.LEAVING, sorted(leaving))
            self.store.state.set(state.CURSOR, page.cursor)
            self.store.state.set(state.LAST_PULL_AT, now_iso)
            if page.offline_ttl_seconds:
                self.store.state.set(state.OFFLINE_TTL, page.offline_ttl_seconds)
        return len(page.cases), purged, kept

    def _purge_or_keep(self, case_id: int, leaving: set[int]) -> bool:
        if self.store.outbox.for_case(str(case_id)):
            leaving.add(case_id)
            return False
        self._purge(case_id)
        leaving.discard(case_id)
        return True

    def _purge(self, case_id: int) -> None:
        self.store.records.delete(state.CASES, str(case_id))
        for visit_id, _, visit in self.store.records.list(state.VISITS):
            if visit.get("case_id") == case_id:
                self.store.records.delete(state.VISITS, visit_id)

    def purge_leaving(self) -> int:
        """Purge leaving cases whose ops have all been pushed; return how many went."""
        purged = 0
        with self.store.transaction():
            leaving = set(self.leaving())
            for case_id in sorted(leaving):
                if not self.store.outbox.for_case(str(case_id)):
                    self._purge(case_id)
                    leaving.discard(case_id)
                    purged += 1
            self.store.state.set(state.LEAVING, sorted(leaving))
        return purged

    def reset(self, cursor: str | None) -> None:
        """Resync: drop every held case with nothing pending (the rest become leaving) and reset the cursor."""
        with self.store.transaction():
            leaving = set(self.leaving())
            for case_id, _ in self.store.records.ids_and_versions(state.CASES):
                self._purge_or_keep(int(case_id), leaving)
            self.store.state.set(state.LEAVING, sorted(leaving))
            self.store.state.set(state.CURSOR, cursor)
