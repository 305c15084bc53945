"""Photo chunks are sized from the measured link: about 10 s per PATCH, so a 2G link never outlives a timeout."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from field_client.photos import (
    FIRST_CHUNK, MAX_CHUNK, MIN_CHUNK, TARGET_SECONDS, ChunkSizer, next_chunk_size,
)

KIB = 1024


def test_a_2g_link_settles_near_ten_seconds_per_chunk():
    size = FIRST_CHUNK
    for _ in range(5):
        size = next_chunk_size(size, size, size / (6 * KIB))  # 6 KiB/s
    assert size == 60 * KIB and size / (6 * KIB) == TARGET_SECONDS


def test_a_256_kib_chunk_at_2g_speed_shrinks_at_once():
    assert next_chunk_size(256 * KIB, 256 * KIB, 256 / 6) == 60 * KIB


def test_a_fast_link_grows_fourfold_per_chunk_up_to_4_mib():
    sizes = [FIRST_CHUNK]
    while sizes[-1] < MAX_CHUNK:
        sizes.append(next_chunk_size(sizes[-1], sizes[-1], 0.01))
    assert sizes == [32 * KIB, 128 * KIB, 512 * KIB, 2048 * KIB, 4096 * KIB]


def test_a_stalled_link_never_goes_below_16_kib():
    assert next_chunk_size(FIRST_CHUNK, FIRST_CHUNK, 600.0) == MIN_CHUNK


@given(st.integers(MIN_CHUNK, MAX_CHUNK), st.integers(1, MAX_CHUNK), st.floats(0, 1e6, allow_nan=False))
def test_the_size_is_always_bounded(current, sent, seconds):
    size = next_chunk_size(current, sent, seconds)
    assert MIN_CHUNK <= size <= MAX_CHUNK and size <= max(MIN_CHUNK, current * 4)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pieces_are_regrouped_to_the_learnt_size_timed_by_the_consumer():
    clock = FakeClock()
    sizer = ChunkSizer(clock=clock)
    source = (bytes(8 * KIB) for _ in range(40))  # 320 KiB read in 8 KiB blocks
    sent = []
    for piece in sizer.pieces(source):
        sent.append(len(piece))
        clock.now += len(piece) / (6 * KIB)  # "sending" at 2G speed
    assert sent[:3] == [32 * KIB, 60 * KIB, 60 * KIB] and sum(sent) == 320 * KIB
    assert sizer.size == 60 * KIB


def test_a_short_tail_does_not_teach_the_sizer_and_a_failure_halves_it():
    clock = FakeClock()
    sizer = ChunkSizer(first=64 * KIB, clock=clock)
    for _ in sizer.pieces(iter([bytes(KIB)])):
        clock.now += 5.0  # 1 KiB in 5 s is latency, not the link's rate
    assert sizer.size == 64 * KIB
    sizer.failed()
    assert sizer.size == 32 * KIB
