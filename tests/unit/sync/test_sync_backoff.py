import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.backoff import backoff_delays, is_retryable_status


@given(seed=st.integers(), attempts=st.integers(min_value=0, max_value=40))
def test_each_delay_is_within_its_full_jitter_window(seed: int, attempts: int) -> None:
    delays = backoff_delays(base=0.5, cap=30.0, attempts=attempts, rng=random.Random(seed))
    assert len(delays) == attempts
    for i, delay in enumerate(delays):
        assert 0 <= delay <= min(30.0, 0.5 * 2**i)


def test_seeded_rng_is_reproducible() -> None:
    assert backoff_delays(rng=random.Random(7)) == backoff_delays(rng=random.Random(7))


def test_jitter_spreads_over_the_window() -> None:
    # Many draws of the last (capped) delay should cover most of [0, cap], not cluster at the top.
    rng = random.Random(1)
    last = [backoff_delays(attempts=10, rng=rng)[-1] for _ in range(500)]
    assert min(last) < 3.0 and max(last) > 27.0


def test_many_attempts_do_not_overflow() -> None:
    delays = backoff_delays(attempts=2000, rng=random.Random(0))
    assert max(delays) <= 30.0


def test_rejects_nonsense_arguments() -> None:
    with pytest.raises(ValueError):
        backoff_delays(base=0)
    with pytest.raises(ValueError):
        backoff_delays(attempts=-1)


@pytest.mark.parametrize(("status", "retry"), [
    (500, True), (502, True), (503, True), (599, True), (429, True), (408, True),
    (200, False), (400, False), (401, False), (403, False), (404, False), (409, False), (422, False),
])
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert is_retryable_status(status) is retry
