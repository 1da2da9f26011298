"""Next due dates of recurring tasks: month ends, leap years, intervals (property tests)."""

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from todo_api.tasks.recurrence import add_months, next_due
from todo_api.tasks.schemas import Recurrence

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2400, 12, 31))
intervals = st.integers(min_value=1, max_value=36)


def series(start: date, recurrence: Recurrence, interval: int, count: int) -> list[date]:
    """The due dates of a series, completing each occurrence in turn."""
    dues = [start]
    for _ in range(count - 1):
        nxt = next_due(dues[-1], recurrence, interval, start)
        assert nxt is not None
        dues.append(nxt)
    return dues


def test_monthly_from_january_31_clamps_and_returns_to_the_31st() -> None:
    assert series(date(2026, 1, 31), Recurrence.monthly, 1, 4) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]


def test_monthly_from_january_31_of_a_leap_year_gives_february_29() -> None:
    assert series(date(2028, 1, 31), Recurrence.monthly, 1, 3)[1:] == [
        date(2028, 2, 29),
        date(2028, 3, 31),
    ]


def test_yearly_from_february_29_returns_to_it_in_leap_years() -> None:
    assert series(date(2024, 2, 29), Recurrence.yearly, 1, 5) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_every_two_weeks() -> None:
    assert next_due(date(2026, 12, 25), Recurrence.weekly, 2, date(2026, 12, 25)) == date(
        2027, 1, 8
    )


def test_a_date_past_the_calendar_ends_the_series() -> None:
    assert next_due(date(9999, 12, 31), Recurrence.daily, 1, date(9999, 12, 31)) is None
    assert next_due(date(9999, 6, 1), Recurrence.yearly, 1, date(9999, 6, 1)) is None


@given(dates, st.integers(min_value=1, max_value=400))
def test_daily_and_weekly_add_exactly_the_interval(start: date, interval: int) -> None:
    assert next_due(start, Recurrence.daily, interval, start) == start + timedelta(days=interval)
    assert next_due(start, Recurrence.weekly, interval, start) == start + timedelta(weeks=interval)


@given(dates, intervals, st.integers(min_value=1, max_value=30))
def test_monthly_occurrence_n_is_the_anchor_plus_n_intervals_clamped(
    start: date, interval: int, n: int
) -> None:
    dues = series(start, Recurrence.monthly, interval, n + 1)
    for k, due in enumerate(dues):
        months = start.month - 1 + k * interval
        year, month = start.year + months // 12, months % 12 + 1
        assert (due.year, due.month) == (year, month)
        assert due.day == min(start.day, calendar.monthrange(year, month)[1])
    assert dues == sorted(set(dues))  # strictly increasing: no duplicate occurrence


@given(dates, st.integers(min_value=1, max_value=10), st.integers(min_value=1, max_value=12))
def test_yearly_keeps_the_month_and_clamps_february_29(start: date, interval: int, n: int) -> None:
    for k, due in enumerate(series(start, Recurrence.yearly, interval, n + 1)):
        year = start.year + k * interval
        assert (due.year, due.month) == (year, start.month)
        leap_day_lost = start.month == 2 and start.day == 29 and not calendar.isleap(year)
        assert due.day == (28 if leap_day_lost else start.day)


@given(dates, st.sampled_from(list(Recurrence)), intervals, st.integers(0, 40))
def test_next_due_is_after_a_current_date_that_drifted_from_the_series(
    anchor: date, recurrence: Recurrence, interval: int, drift: int
) -> None:
    # A due date edited by hand, or clamped, is still followed by a later one.
    current = anchor + timedelta(days=drift)
    nxt = next_due(current, recurrence, interval, anchor)
    assert nxt is not None and nxt > current


@given(dates, st.integers(min_value=-2400, max_value=2400))
def test_add_months_clamps_to_the_month_length(start: date, months: int) -> None:
    moved = add_months(start, months)
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    assert moved.day == min(start.day, calendar.monthrange(moved.year, moved.month)[1])


@pytest.mark.parametrize("recurrence", list(Recurrence))
def test_interval_one_thousand_is_supported(recurrence: Recurrence) -> None:
    assert next_due(date(2026, 1, 31), recurrence, 1000, date(2026, 1, 31)) is not None
