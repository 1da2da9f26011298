"""Recurring tasks: when the next occurrence is due."""

import calendar
from datetime import date, timedelta

from todo_api.tasks.schemas import Recurrence


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by whole months, the day clamped to the month's length (Jan 31 → Feb 28)."""
    month_index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor.day, last_day))


def next_due(current: date, recurrence: Recurrence, interval: int, anchor: date) -> date | None:
    """The first due date of the series after `current`; None past the calendar's end (9999).

    Months and years count from the series' anchor (its first due date), not from the clamped
    current date, so a series that starts on the 31st returns to the 31st whenever the month
    has one, and one that starts on Feb 29 returns to it in leap years.
    """
    try:
        if recurrence is Recurrence.daily:
            return current + timedelta(days=interval)
        if recurrence is Recurrence.weekly:
            return current + timedelta(weeks=interval)
        step = interval * (12 if recurrence is Recurrence.yearly else 1)
        elapsed = (current.year - anchor.year) * 12 + current.month - anchor.month
        months = elapsed // step * step
        while (candidate := add_months(anchor, months)) <= current:
            months += step
        return candidate
    except (OverflowError, ValueError):
        return None
