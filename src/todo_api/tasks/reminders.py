"""The rules of a task's reminders, on the list a task stores (`task.reminders`).

Pure functions: the task's writes call them on the row they hold locked, and so does firing
the due ones (`due_reminders.py`) on the rows it claimed. A stored reminder is what clients
see: `at` or `before_minutes` as set, the resolved `fire_at`, `fired_at` once sent, and `late`
when it fired well after it was due.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

MAX_REMINDERS_PER_TASK = 5
MAX_BEFORE_MINUTES = 525_600  # a year

Reminder = dict[str, Any]


class ReminderOutOfRange(ValueError):
    """A reminder that would go off before the calendar's first day (or after its last)."""

    def __init__(self) -> None:
        super().__init__("a reminder that early would go off before the year 1")


class MissingDueTime(ValueError):
    """A reminder relative to the due time, on a task without one."""

    def __init__(self) -> None:
        super().__init__("reminders with before_minutes need the task's due_at")


def iso(value: datetime) -> str:
    """A time as the task JSON writes it (UTC, `Z`)."""
    return value.isoformat().replace("+00:00", "Z")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class ReminderSpec:
    """A reminder as clients set it: at a time, or `before_minutes` before `due_at`."""

    at: datetime | None = None
    before_minutes: int | None = None

    def fire_at(self, due_at: datetime | None) -> datetime:
        """When it goes off for a task due at `due_at`."""
        if self.at is not None:
            return self.at
        assert self.before_minutes is not None
        if due_at is None:
            raise MissingDueTime()
        try:
            return due_at - timedelta(minutes=self.before_minutes)
        except OverflowError:
            raise ReminderOutOfRange() from None

    def stored(self, due_at: datetime | None) -> Reminder:
        """A new, unfired reminder for a task due at `due_at`."""
        return {
            "at": None if self.at is None else iso(self.at),
            "before_minutes": self.before_minutes,
            "fire_at": iso(self.fire_at(due_at)),
            "fired_at": None,
            "late": False,
        }


def spec_of(reminder: Reminder) -> ReminderSpec:
    """What a stored reminder was set as."""
    return ReminderSpec(_time(reminder["at"]), reminder["before_minutes"])


def resolve(
    specs: list[ReminderSpec], due_at: datetime | None, current: list[Reminder]
) -> list[Reminder]:
    """The list `specs` make, for a task due at `due_at` that has `current`.

    A reminder sent again as it is keeps its state: a client writing back the list it read
    does not fire anything twice. MissingDueTime for a relative one without `due_at`.
    """
    unmatched = list(current)
    resolved = []
    for spec in specs:
        match = next((item for item in unmatched if spec_of(item) == spec), None)
        if match is None:
            resolved.append(spec.stored(due_at))
        else:
            unmatched.remove(match)
            resolved.append(match)
    return moved(resolved, due_at)


def moved(reminders: list[Reminder], due_at: datetime | None) -> list[Reminder]:
    """The reminders once the task is due at `due_at`: unfired relative ones follow it."""
    result = []
    for reminder in reminders:
        if reminder["fired_at"] is None and reminder["before_minutes"] is not None:
            reminder = reminder | {"fire_at": iso(spec_of(reminder).fire_at(due_at))}
        result.append(reminder)
    return result


def cancelled(reminders: list[Reminder]) -> list[Reminder]:
    """What is left once the task is completed: the reminders that already fired."""
    return [reminder for reminder in reminders if reminder["fired_at"] is not None]


def carried_over(
    reminders: list[Reminder],
    due: tuple[datetime | None, date | None],
    next_due: tuple[datetime | None, date | None],
) -> list[Reminder]:
    """A recurring task's next occurrence's reminders: the relative ones as they are, the
    absolute ones moved by as much as the due time moved (`due` → `next_due`, each a
    `(due_at, due_date)`), all unfired."""
    shift = _shift(due, next_due)
    result = []
    for reminder in reminders:
        spec = spec_of(reminder)
        try:
            if spec.at is not None:
                if shift is None:
                    continue  # nothing to move it by
                spec = ReminderSpec(at=spec.at + shift)
            elif next_due[0] is None:
                continue
            result.append(spec.stored(next_due[0]))
        except (OverflowError, ReminderOutOfRange):
            continue  # past the calendar's end: the next occurrence cannot have it
    return result


def _shift(
    due: tuple[datetime | None, date | None], next_due: tuple[datetime | None, date | None]
) -> timedelta | None:
    if due[0] is not None and next_due[0] is not None:
        return next_due[0] - due[0]
    if due[1] is not None and next_due[1] is not None:
        return next_due[1] - due[1]
    return None


def next_fire_at(reminders: list[Reminder]) -> datetime | None:
    """When the earliest unfired reminder goes off (None: nothing left to fire)."""
    times = [_time(r["fire_at"]) for r in reminders if r["fired_at"] is None]
    return min((t for t in times if t is not None), default=None)


def fire_due(
    reminders: list[Reminder], now: datetime, late_after: timedelta
) -> tuple[list[Reminder], list[Reminder]]:
    """The list with the reminders due by `now` marked fired, and those that were."""
    result, fired = [], []
    for reminder in reminders:
        fire_at = _time(reminder["fire_at"])
        assert fire_at is not None
        if reminder["fired_at"] is None and fire_at <= now:
            reminder = reminder | {"fired_at": iso(now), "late": now - fire_at > late_after}
            fired.append(reminder)
        result.append(reminder)
    return result, fired
