"""A field client killed with SIGKILL at random moments always reopens with a readable store and an intact outbox
(DESIGN "Security model" and sync principle 3: the device keeps an op until the server has acknowledged it).

Each run starts `crash_worker.py` in its own process on the SAME store (damage would accumulate), waits for its
imports, lets it write for a random 3-300 ms (enqueue/acknowledge ops, a generation of records with its cursor in
one transaction, photos, passphrase changes, captures through the engine, full syncs against an in-memory server)
and kills it. Then, in most runs, this process reopens the store and checks, against the worker's fsynced side log:
- it opens with the passphrase the log says is current (either one if a change was under way); it is gone
  only if an erase (which the worker does now and then, enrolling afresh) or the first create was cut short,
  and then nothing of it comes back;
- every record, op, state value and photo chunk decrypts (no StoreTampered) and SQLite's integrity_check is ok;
- every op whose enqueue returned is still pending unless its acknowledge began or a server received it;
  no op whose acknowledge returned, or that was pushed in a sync that returned, is pending; none is unknown,
  changed or out of enqueue order; a multi-op enqueue, an acknowledge and the engine's acknowledge of a pushed
  batch are each all-or-nothing;
- every photo whose put returned reads back with its logged SHA-256 (old or new one if a put was cut off;
  gone after a returned delete); a pending attach_photo op has its photo and upload entry, an answered one has
  neither, and there is no stray photo; a pending visit op has its visit record;
- the generation cursor equals the generation of every record written in its transaction, with the right count;
  the engine's pull cursor decodes and every case it lists as leaving is held;
- the raw files (including the WAL as the killed process left it) hold no plaintext marker and no passphrase,
  and no other file appears beside the database (a create cut short may leave a temporary file, which holds
  no case data and must be gone once the store has been opened).
In the other runs the next worker is the one to open the crashed store, so kills also land in WAL recovery; it
logs what it found on opening and the same checks run on that.

Runs: 40 by default (about half a minute); set CME_CRASH_RUNS for more, e.g. CME_CRASH_RUNS=300, and
CME_CRASH_SEED to replay the same choices (the instants the kills land at still vary). With -s a summary line
shows where the kills landed. A SIGKILL keeps what the OS has cached, so this does not test power loss.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from field_client.store import Store, StoreErased, StoreError, StoreNotFound
from tests.integration.crash_worker import Model, observe, open_any, read_log, scan_raw

WORKER = Path(__file__).with_name("crash_worker.py")
RUNS = int(os.environ.get("CME_CRASH_RUNS", "40"))
FIRST_PASS = "crash test passphrase"
CHECK_RATE = 0.75  # share of runs after which this process checks; otherwise the next worker recovers


def _spawn(store_dir: Path, log: Path, err: Path, seed: int, passes: list[str]) -> subprocess.Popen:
    env = dict(os.environ, CRASH_PASSES=json.dumps(passes))
    with err.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, str(WORKER), str(store_dir), str(log), str(seed)],
                                stdout=subprocess.PIPE, stderr=stderr, env=env)
    if proc.stdout.readline().strip() != b"ready":
        proc.wait()
        raise AssertionError(f"worker did not start: {err.read_text()[-2000:]}")
    return proc


def _kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL the worker after `delay` seconds; False if it had already stopped by itself."""
    time.sleep(delay)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return alive


def _replay(model: Model, events: list[dict], used: list[str]) -> None:
    model.phase = "start"
    for event in events:
        model.apply(event)  # AssertionError if a worker found the store wrong on opening it
        used += [event[key] for key in ("new", "passphrase") if event["e"] in ("pass-begin", "create-begin")
                 and key in event]


def _check(store_dir: Path, model: Model, used: list[str]) -> list[str]:
    problems = scan_raw(store_dir, used, leftovers_ok=True) if store_dir.exists() else []  # WAL included
    try:
        if not Store.exists(store_dir):
            raise StoreNotFound("no store")
        store, passphrase = open_any(store_dir, model.passes)
    except (StoreNotFound, StoreErased):  # acceptable only while an erase or a create was under way
        model.absent()
        if Store.exists(store_dir):
            problems.append("an erased store is left in place: the device could neither open it nor enrol again")
        return problems
    except StoreError as exc:
        return problems + [f"the store does not open: {exc!r}"]
    try:
        obs = observe(store)
    except StoreError as exc:
        return problems + [f"the store does not read back: {exc!r}"]
    finally:
        store.close()
    problems += obs["problems"] + model.check(obs) + scan_raw(store_dir, used)  # leftovers gone once opened
    if not problems:
        model.resolve(obs, passphrase)
    return problems


def test_store_survives_sigkill_at_random_points(tmp_path):
    seed = int(os.environ.get("CME_CRASH_SEED") or random.randrange(10**9))
    rng, model, store_dir = random.Random(seed), Model(FIRST_PASS), tmp_path / "store"
    used, phases, started, checked = [FIRST_PASS], Counter(), time.monotonic(), 0
    for run in range(RUNS):
        log, err = tmp_path / f"log-{run}.jsonl", tmp_path / f"err-{run}.txt"
        proc = _spawn(store_dir, log, err, rng.randrange(10**9), model.passes)
        alive = _kill_after(proc, rng.uniform(0.003, 0.3))
        assert alive, f"run {run} (seed {seed}): the worker stopped by itself: {err.read_text()[-3000:]}"
        events = read_log(log)
        where = f"run {run} (seed {seed}, log {log})"
        try:
            _replay(model, events, used)
        except AssertionError as exc:
            raise AssertionError(f"{where}: {exc}") from None
        phases[model.phase] += 1
        if run == RUNS - 1 or rng.random() < CHECK_RATE:
            problems = _check(store_dir, model, used)
            checked += 1
            assert not problems, f"{where}, killed in {model.phase} after {len(events)} events: " + "; ".join(
                problems[:10])
    elapsed = time.monotonic() - started
    print(f"\ncrash safety: {RUNS} kills ({checked} checked here, {RUNS - checked} recovered by the next worker) "
          f"in {elapsed:.1f}s, seed {seed}; killed in: {dict(phases.most_common())}")
