"""Which dates of birth can be a child on the register (issue 7 item 18: 1900-01-01 was accepted as a child)."""
from __future__ import annotations

from datetime import date

import pytest

from server.domain.school_age import compulsory_school_age, dob_problem

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize("dob", [
    date(2016, 3, 14),   # 10: of compulsory school age
    date(2022, 9, 1),    # 4, in reception: school age starts 2027-12-31
    date(2023, 6, 1),    # 3½: school age starts 2028-08-31, within two years (early referral, §3.1.1)
    date(2010, 9, 1),    # 16, leaves at the leaving date 2027-06-25: still of school age
    date(2010, 8, 31),   # 16, left 2026-06-26: within the close-out year (§11.9)
])
def test_children_the_register_can_hold_are_accepted(dob):
    assert dob_problem(dob, TODAY) is None


@pytest.mark.parametrize(("dob", "words"), [
    (date(1900, 1, 1), "too long ago"),          # the attack: a placeholder or a slip
    (date(2008, 6, 1), "too long ago"),          # left 2024-06-28, over two years ago: 18, outside §12.2
    (date(2009, 8, 31), "too long ago"),         # left 2025-06-27, more than a year ago
    (date(2027, 1, 1), "in the future"),
    (TODAY.replace(day=3), "in the future"),
    (date(2025, 1, 1), "too recent"),            # not yet 2: school age would start 2030-03-31
])
def test_dates_of_birth_that_cannot_be_a_child_on_the_register_are_refused(dob, words):
    assert words in dob_problem(dob, TODAY)


def test_the_bounds_follow_compulsory_school_age_to_the_day():
    # The youngest accepted: school age starts no more than two years (730 days) from today.
    young = date(2023, 11, 30)  # fifth birthday 2028-11-30, starts 2028-12-31: too far
    assert compulsory_school_age(young).starts == date(2028, 12, 31) and "too recent" in dob_problem(young, TODAY)
    assert dob_problem(young, date(2027, 1, 1)) is None
    # The oldest: school age ended no more than a year (365 days) ago.
    old = date(2009, 9, 1)  # leaving date 2026-06-26
    assert dob_problem(old, date(2027, 6, 26)) is None
    assert "too long ago" in dob_problem(old, date(2027, 6, 27))
