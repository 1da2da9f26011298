"""The reminder rules, on the lists tasks store."""

from datetime import UTC, date, datetime, timedelta

import pytest

from todo_api.tasks.reminders import (
    MissingDueTime,
    ReminderSpec,
    cancelled,
    carried_over,
    fire_due,
    iso,
    moved,
    next_fire_at,
    resolve,
)

DUE = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_a_reminder_sent_back_as_it_was_keeps_its_fired_state() -> None:
    (reminder,) = resolve([ReminderSpec(before_minutes=5)], DUE, [])
    fired = reminder | {"fired_at": iso(DUE)}
    kept = resolve([ReminderSpec(before_minutes=5), ReminderSpec(at=DUE)], DUE, [fired])
    assert kept[0] == fired and kept[1]["fired_at"] is None


def test_relative_reminders_need_a_due_time() -> None:
    with pytest.raises(MissingDueTime):
        resolve([ReminderSpec(before_minutes=5)], None, [])
    (reminder,) = resolve([ReminderSpec(before_minutes=5)], DUE, [])
    with pytest.raises(MissingDueTime):
        moved([reminder], None)


def test_fired_reminders_do_not_move() -> None:
    (reminder,) = resolve([ReminderSpec(before_minutes=5)], DUE, [])
    fired = reminder | {"fired_at": iso(DUE)}
    assert moved([fired], DUE + timedelta(days=1)) == [fired]
    assert cancelled([reminder, fired]) == [fired]


def test_firing_marks_only_due_ones_and_late_ones_late() -> None:
    reminders = resolve(
        [
            ReminderSpec(at=DUE - timedelta(hours=1)),
            ReminderSpec(at=DUE),
            ReminderSpec(at=DUE + timedelta(hours=1)),
        ],
        DUE,
        [],
    )
    result, fired = fire_due(reminders, DUE, timedelta(minutes=1))
    assert [r["late"] for r in fired] == [True, False]
    assert next_fire_at(result) == DUE + timedelta(hours=1)
    assert next_fire_at(fire_due(result, DUE + timedelta(hours=2), timedelta(0))[0]) is None


def test_carried_over_with_only_due_dates() -> None:
    reminders = resolve([ReminderSpec(at=DUE)], None, [])
    moved_on = carried_over(reminders, (None, date(2030, 1, 1)), (None, date(2030, 1, 2)))
    assert moved_on[0]["at"] == iso(DUE + timedelta(days=1))
