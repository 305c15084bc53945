"""Retry timing for the client's network calls.

"Full jitter" exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): the i-th delay is
uniform(0, min(cap, base * 2**i)). Spreading retries over the whole window keeps a fleet of devices that lost
signal together from reconnecting in lockstep.
"""

from __future__ import annotations

import random


def backoff_delays(
    base: float = 0.5,
    cap: float = 30.0,
    attempts: int = 6,
    rng: random.Random | None = None,
) -> list[float]:
    """Delays in seconds before each of `attempts` retries. Pass a seeded `rng` for reproducible tests."""
    if base <= 0 or cap < 0 or attempts < 0:
        raise ValueError("base must be > 0, cap >= 0 and attempts >= 0")
    rng = rng or random.Random()
    delays = []
    ceiling = min(cap, base)
    for _ in range(attempts):
        delays.append(rng.uniform(0, ceiling))
        ceiling = min(cap, ceiling * 2)  # clamped each step, so a large attempt count cannot overflow
    return delays


def is_retryable_status(status: int) -> bool:
    """5xx, 429 Too Many Requests and 408 Request Timeout are worth retrying; other 4xx are not."""
    return 500 <= status <= 599 or status in (429, 408)
