"""`X-APPLE-SORT-ORDER`, the manual order's property in calendar apps, from a task's position.

A position (core/positions.py) is a fractional-indexing key: `i`, nine base-62 digits of an
integer, then maybe a fraction. The sort order is that integer (from 2020 on, so that it fits in
a signed 64-bit number until the 2040s) with the fraction's first twelve bits below it: it
sorts as the positions do, and changes only when the task's position does (so only with its
version, as its ETag says). Fractions that agree in their first twelve bits tie.
"""

from datetime import UTC, datetime

from fractional_indexing import BASE_62_DIGITS

_DIGIT = {character: value for value, character in enumerate(BASE_62_DIGITS)}
_INTEGER_DIGITS = 9
_FRACTION_BITS = 12
_BASE = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
# Keys of another integer length (which only a very long run of moves to one end could make)
# sort before or after every other.
_FAR = 2**62


def sort_order(position: str) -> int:
    """The task's `X-APPLE-SORT-ORDER`: it sorts as positions do."""
    head = position[:1]
    if head != "i":
        return -_FAR if head < "i" else _FAR
    integer = 0
    for character in position[1 : 1 + _INTEGER_DIGITS]:
        integer = integer * 62 + _DIGIT[character]
    fraction = 0.0
    for index, character in enumerate(position[1 + _INTEGER_DIGITS :][:4]):
        fraction += _DIGIT[character] / 62 ** (index + 1)
    scale = 1 << _FRACTION_BITS
    return (integer - _BASE) * scale + min(int(fraction * scale), scale - 1)
