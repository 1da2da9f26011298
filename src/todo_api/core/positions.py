"""Manual order: positions are strings that sort bytewise (fractional indexing), so that moving
a record writes that one row, and now and then a few of its neighbours.

A new record takes `created(at)`: an integer key of its creation time in microseconds, and a
random fraction for records created in the same microsecond elsewhere. It lands after every
record created before it, with no read and no lock. A move takes a key `between` its new
neighbours, made of their integer parts and a fraction: never a later time's, so records
created afterwards still come after it. Keys between close neighbours grow; once one would pass
`RESPACE_BEYOND` characters (with room for a mark, below), `place` gives the crowded neighbours
new, shorter keys as well (each a write the caller records like any other), so keys stay within
`MAX_LENGTH`.

`between` and `place` are for a writer that holds the container alone: what it read of the
neighbours stays true until it commits. Writers that move records in one container side by side
read the same neighbours and would take the same key: `apart` gives each a key ending with its
record's id, so that no two of them take one key, and leaves respacing to a writer that holds
the container alone.

On PostgreSQL the column is compared with `COLLATE "C"` (bytewise); SQLite compares bytewise.
"""

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fractional_indexing import (
    BASE_62_DIGITS,
    generate_key_between,
    generate_n_keys_between,
    get_integer_part,
    increment_integer,
)

# Room for every key `place` makes (they stay within RESPACE_BEYOND).
MAX_LENGTH = 64
# No key a move takes is longer, its mark (below) included: one that would be respaces its
# crowded neighbours instead.
RESPACE_BEYOND = 39
# What respaced keys must fit in: half the room, so that many moves fit before the next.
RESPACED_LENGTH = 16
# The longest mark `apart` puts after a key: a record's id (below 62**6, as every id is) and
# how many digits it took. Every key a move takes leaves room for one.
MARK_ROOM = 7
# How many neighbours on each side a respacing reads first (widened until they fit).
FIRST_WINDOW = 8

_DIGITS: str = BASE_62_DIGITS
# Microseconds since 1970 take 9 base-62 digits until the year 2398: integer keys `i…`.
_TIME_DIGITS = 9
_last_micros = 0
# The fractions of creation keys tell apart records made in the same microsecond elsewhere: they
# need to differ, not to be unguessable (positions are no secret), so no system call per key.
_FRACTIONS = random.Random()
# Three digits, the last not "0" (a key never ends in its zero digit).
_FRACTION_COUNT = 62 * 62 * 61


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, digit = divmod(number, 62)
        digits = _DIGITS[digit] + digits
    return digits.rjust(width, _DIGITS[0])


def created(at: datetime) -> str:
    """The key of a record created at `at`: after every key created before it here (by this
    process, whose clock may stand still), and with a random fraction."""
    global _last_micros
    micros = max(round(at.timestamp() * 1_000_000), _last_micros + 1)
    _last_micros = micros
    digits = _base62(micros, _TIME_DIGITS)
    head = chr(ord("a") + len(digits) - 1)  # the length of an integer key, as its first letter
    draw = _FRACTIONS.randrange(_FRACTION_COUNT)
    first, second, last = draw // (62 * 61), draw // 61 % 62, draw % 61
    fraction = _DIGITS[first] + _DIGITS[second] + _DIGITS[1 + last]
    return head + digits + fraction


def _has_fraction(key: str) -> bool:
    return len(key) > len(get_integer_part(key))


def between(lower: str | None, upper: str | None) -> str:
    """A key after `lower` and before `upper` (None: no bound), with a fraction."""
    key = str(generate_key_between(lower, upper))
    if _has_fraction(key):
        return key
    # An integer key may be a later creation's time: step to a fraction next to it.
    return str(generate_key_between(lower, key)) if lower is not None else between(key, upper)


def spread(lower: str | None, upper: str | None, count: int) -> list[str]:
    """`count` short keys, in order, after `lower` and before `upper`, each with a fraction."""
    if lower is not None and upper is None:
        # Within `lower`'s integer: keys beyond it would pass records created later.
        upper = increment_integer(get_integer_part(lower), _DIGITS)
    keys: list[str] = generate_n_keys_between(lower, upper, count)
    bounds = [*keys[1:], upper]
    pairs = zip(keys, bounds, strict=True)
    return [key if _has_fraction(key) else between(key, bound) for key, bound in pairs]


def _mark(record_id: int) -> str:
    """The record's id in base 62, then how many digits that took: read from the end, it is
    the id, so two keys ending with marks are equal only if the ids are; and it never ends
    with `0`, which no key may."""
    digits = _base62(record_id, 1)
    return digits + _DIGITS[len(digits)]


def apart(lower: str | None, upper: str | None, record_id: int) -> str | None:
    """A key after `lower` and before `upper` (adjacent; None: no bound) that only this record
    takes, for writers that place records in one container side by side: None if the gap is
    too narrow for one (two equal neighbours, or a key that with its mark would pass
    `RESPACE_BEYOND`): the neighbours need respacing, by `place` (it does where this gives
    None) in a writer that holds the container alone."""
    if lower is not None and upper is not None and lower >= upper:
        return None
    key = _markable(lower, upper)
    return key + _mark(record_id) if _fits(key) else None


def _markable(lower: str | None, upper: str | None) -> str:
    """`between`, but never a key that `upper` starts with: marked, that would sort after it."""
    key = between(lower, upper)
    while upper is not None and upper.startswith(key):
        key = between(key, upper)
    return key


def _fits(key: str) -> bool:
    """Whether the key, and a mark after it, stay within RESPACE_BEYOND."""
    return len(key) + MARK_ROOM <= RESPACE_BEYOND


@dataclass(frozen=True, slots=True)
class Placed:
    """A record's new position, and the neighbours that must move too: (id, new position)."""

    position: str
    respaced: list[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class Sibling:
    """A record next to the spot, with its position."""

    id: int
    position: str


# Reads up to `count` siblings from one side of the spot, nearest first: those at or before
# `lower` going down (`upward=False`), or at or after `upper` going up.
ReadSiblings = Callable[[str, int, bool], Awaitable[Sequence[Sibling]]]


async def place(lower: str | None, upper: str | None, read: ReadSiblings) -> Placed:
    """The position for a record going between the siblings at `lower` and `upper` (adjacent;
    None: the start or the end), respacing neighbours when the gap is too narrow."""
    if lower is None or upper is None or lower < upper:
        # The key `apart` would have marked: where that gives None, this respaces.
        key = _markable(lower, upper)
        if _fits(key):
            return Placed(key, [])
    # Too narrow a gap (or two equal keys, created in one microsecond on two servers):
    # respace the neighbours around the spot, in a window widened until the new keys are short.
    window = FIRST_WINDOW
    while True:
        below = [] if lower is None else list(await read(lower, window + 1, False))
        above = [] if upper is None else list(await read(upper, window + 1, True))
        # The window's bounds are the siblings just beyond it; None once it reaches an end.
        low = below.pop().position if len(below) > window else None
        high = above.pop().position if len(above) > window else None
        keys = spread(low, high, len(below) + 1 + len(above))
        if max(map(len, keys)) <= RESPACED_LENGTH or (low is None and high is None):
            moved = [*reversed(below), None, *above]
            respaced = [
                (sibling.id, new) for sibling, new in zip(moved, keys, strict=True) if sibling
            ]
            return Placed(keys[len(below)], respaced)
        window *= 4
