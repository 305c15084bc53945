"""Sync benchmarks: pull cost against register size, initial sync, a large push, photo upload memory.

    .venv/bin/python -m bench.sync_bench [--database-url postgresql://postgres@127.0.0.1:5432/test]

Prints each figure and the ratios that matter. Each register is built in a fresh database (a temporary SQLite
file, or a throw-away schema on PostgreSQL) and the comparisons run side by side in one process.
"""
from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path

import click
from sqlalchemy import event
from rich.console import Console
from rich.table import Table

from bench.seed import bulk_register, drop_database, fresh_database, make_app, sync_headers
from bench.photo_memory import photo_upload_peak

console = Console()


def timed(fn, repeat: int) -> float:
    """Median wall time of `repeat` calls, in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def pull_until_done(client, headers, cursor=None, limit=100) -> tuple[str, int]:
    count = 0
    while True:
        query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/sync/pull", query_string=query, headers=headers).get_json()
        count += len(body["cases"])
        cursor = body["cursor"]
        if not body["more"]:
            return cursor, count


def bench_register(url: str, size: int, caseload: int, tmp: Path) -> dict:
    app = make_app(url, tmp)
    officer_id = bulk_register(app, size, caseload)
    client = app.test_client()
    headers = sync_headers(client)
    start = time.perf_counter()
    cursor, count = pull_until_done(client, headers)
    initial_ms = (time.perf_counter() - start) * 1000
    assert count == caseload, (count, caseload)
    empty_ms = timed(lambda: pull_until_done(client, headers, cursor), repeat=30)
    result = {"size": size, "caseload": caseload, "initial_ms": initial_ms, "empty_pull_ms": empty_ms,
              "app": app, "client": client, "headers": headers, "officer_id": officer_id}
    return result


class Counted:
    """Statements and transactions the app's engine runs inside the block (SQLAlchemy events)."""

    def __init__(self, app) -> None:
        self.engine, self.statements, self.commits = app.extensions["cme"]["engine"], 0, 0

    def _statement(self, *args) -> None:
        self.statements += 1

    def _commit(self, conn) -> None:
        self.commits += 1

    def __enter__(self) -> "Counted":
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)


def bench_push(run: dict, n_ops: int) -> dict:
    """A 1,000-op push in batches of 500: its time, statements per op and transactions per request."""
    client, headers = run["client"], run["headers"]
    case_ids = [c["id"] for c in client.get("/api/sync/pull", query_string={"limit": 500},
                                             headers=headers).get_json()["cases"]]
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    ops = [{"op_id": str(uuid.uuid4()), "kind": "record_home_visit", "case_id": case_ids[i % len(case_ids)],
            "device_time": now, "payload": {"visited_at": now, "outcome": "no_answer"}} for i in range(n_ops)]
    start = time.perf_counter()
    with Counted(run["app"]) as counted:
        for i in range(0, n_ops, 500):
            resp = client.post("/api/sync/push", json={"ops": ops[i:i + 500]}, headers=headers)
            assert all(r["status"] == "applied" for r in resp.get_json()["results"])
    requests = (n_ops + 499) // 500
    return {"ms": (time.perf_counter() - start) * 1000, "statements_per_op": counted.statements / n_ops,
            "transactions_per_push": counted.commits / requests}


def pull_statements(run: dict) -> tuple[int, int]:
    """Statements and transactions of one pull with no changes."""
    cursor, _ = pull_until_done(run["client"], run["headers"])
    with Counted(run["app"]) as counted:
        pull_until_done(run["client"], run["headers"], cursor)
    return counted.statements, counted.commits


@click.command()
@click.option("--database-url", default=None, help="PostgreSQL URL; default: temporary SQLite files.")
@click.option("--large", default=100_000, show_default=True, help="Cases in the large register.")
@click.option("--photo-mb", default=50, show_default=True)
def main(database_url: str | None, large: int, photo_mb: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        urls = [fresh_database(database_url, tmp / name) for name in ("small", "large", "photo")]
        runs: list[dict] = []
        try:
            runs.append(bench_register(urls[0], 1_000, 300, tmp / "small"))
            runs.append(bench_register(urls[1], large, 300, tmp / "large"))
            pull_counts = pull_statements(runs[0])
            push = bench_push(runs[0], 1_000)
            peak = photo_upload_peak(urls[2], tmp / "photo", photo_mb)
        finally:
            for run in runs:
                run["app"].extensions["cme"]["engine"].dispose()
            for url in urls:
                drop_database(url)
    small_run, large_run = runs
    print_table(database_url, large, photo_mb, small_run, large_run, push, pull_counts, peak)


def print_table(database_url, large, photo_mb, small_run, large_run, push, pull_counts, peak) -> None:
    table = Table(title=f"Sync benchmarks ({'PostgreSQL' if database_url else 'SQLite'})")
    for col in ("measure", "figure"):
        table.add_column(col)
    s, lg = small_run["empty_pull_ms"], large_run["empty_pull_ms"]
    table.add_row("pull, no changes, register of 1,000 (median of 30)", f"{s:.2f} ms")
    table.add_row(f"pull, no changes, register of {large:,} (median of 30)", f"{lg:.2f} ms")
    table.add_row("ratio large / small (near 1 = cost grows with changes, not register size)", f"{lg / s:.2f}")
    table.add_row("initial sync of a 300-case caseload (register of 1,000)", f"{small_run['initial_ms']:.0f} ms")
    table.add_row(f"initial sync of a 300-case caseload (register of {large:,})", f"{large_run['initial_ms']:.0f} ms")
    push_ms = push["ms"]
    table.add_row("push of 1,000 ops (2 batches of 500)", f"{push_ms:.0f} ms ({push_ms / 1000:.2f} ms/op)")
    table.add_row("  statements per op (before_cursor_execute)", f"{push['statements_per_op']:.2f}")
    table.add_row("  transactions per push request", f"{push['transactions_per_push']:.0f}")
    table.add_row("pull with no changes: statements, transactions", f"{pull_counts[0]}, {pull_counts[1]}")
    table.add_row(f"server peak RSS growth while receiving a {photo_mb} MB photo", f"{peak['growth_mb']:.1f} MB")
    table.add_row("  ratio: growth / photo size", f"{peak['growth_mb'] / photo_mb:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
