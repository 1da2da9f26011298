"""`X-APPLE-SORT-ORDER`, the manual order's property in calendar apps, from a task's position.

A position (core/positions.py) is a fractional-indexing key: a letter saying how many base-62
digits its integer has (`i`: nine, a creation time in microseconds), the integer, then maybe a
fraction. The sort order is that integer (from 2020 on, so that it fits in a signed 64-bit
number until the 2040s) with the fraction's first twelve bits below it: it sorts as the
positions do, and changes only when the task's position does (so only with its version, as its
ETag says). Fractions that agree in their first twelve bits tie.
"""

from datetime import UTC, datetime

from fractional_indexing import BASE_62_DIGITS

_DIGIT = {character: value for value, character in enumerate(BASE_62_DIGITS)}
_FRACTION_BITS = 12
_BASE = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
# Keys of shorter integers (`a` to `h`: migration 0016 gave tasks `e` keys) each get a band below
# the `i` keys; longer ones (after the year 2398) and negative ones sort after or before all.
_BAND = 2**58
_FAR = 2**62


def _number(digits: str) -> int:
    value = 0
    for character in digits:
        value = value * 62 + _DIGIT[character]
    return value


def _fraction(digits: str) -> float:
    value = 0.0
    for index, character in enumerate(digits[:4]):
        value += _DIGIT[character] / 62.0 ** (index + 1)
    return value


def sort_order(position: str) -> int:
    """The task's `X-APPLE-SORT-ORDER`: it sorts as positions do."""
    head = position[:1]
    if not ("a" <= head <= "z"):
        return -_FAR * 2 + 1  # a negative integer key: before every other
    length = ord(head) - ord("a") + 1
    integer = _number(position[1 : 1 + length])
    fraction = _fraction(position[1 + length :])
    if head == "i":
        scale = 1 << _FRACTION_BITS
        return (integer - _BASE) * scale + min(int(fraction * scale), scale - 1)
    if head > "i":
        return _FAR
    scale = min(1 << _FRACTION_BITS, _BAND // int(62**length))
    band: int = -_FAR + (length - 1) * _BAND
    return band + integer * scale + min(int(fraction * scale), scale - 1)
