"""Positions: keys that sort bytewise into a manual order, and stay short however tasks move."""

import bisect
import random
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from todo_api.core import positions
from todo_api.core.positions import Placed, Sibling, apart, between, created, place, spread

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


class Siblings:
    """Records in their order, as a container's rows: moves go through `place` as the service
    does, reading the neighbours it asks for."""

    def __init__(self, count: int) -> None:
        self.keys: list[str] = []
        self.ids: list[int] = []
        self.respaced = 0
        for number in range(count):
            self.add(number, created(NOW + timedelta(seconds=number)))

    def add(self, record_id: int, key: str) -> None:
        index = bisect.bisect_left(self.keys, key)
        self.keys.insert(index, key)
        self.ids.insert(index, record_id)

    async def read(self, at: str, count: int, upward: bool) -> list[Sibling]:
        if upward:
            start = bisect.bisect_left(self.keys, at)
            window = range(start, min(start + count, len(self.keys)))
        else:
            end = bisect.bisect_right(self.keys, at)
            window = range(end - 1, max(end - count, 0) - 1, -1)
        return [Sibling(self.ids[i], self.keys[i]) for i in window]

    async def move(self, record_id: int, index: int, *, side_by_side: bool = False) -> None:
        """Put the record at `index` among the others (0: first); `side_by_side`: as a move
        that holds the container for share does (`apart`, else `place` holding it alone)."""
        old = self.ids.index(record_id)
        del self.keys[old], self.ids[old]
        lower = self.keys[index - 1] if index > 0 else None
        upper = self.keys[index] if index < len(self.keys) else None
        key = apart(lower, upper, record_id) if side_by_side else None
        placed = Placed(key, []) if key else await place(lower, upper, self.read)
        self.respaced += len(placed.respaced)
        for sibling_id, key in placed.respaced:
            at = self.ids.index(sibling_id)
            del self.keys[at], self.ids[at]
            self.add(sibling_id, key)
        self.add(record_id, placed.position)
        assert self.ids.index(record_id) == index


def test_a_later_creation_sorts_after_an_earlier_one() -> None:
    keys = [created(NOW + timedelta(microseconds=step)) for step in range(1000)]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_creations_in_one_microsecond_still_come_in_order() -> None:
    keys = [created(NOW) for _ in range(100)]
    assert keys == sorted(keys) and len(set(keys)) == 100


@pytest.mark.parametrize("bounds", [(None, None), ("a0", None), (None, "a0"), ("a0", "a1")])
def test_a_key_between_two_lies_between_them_and_has_a_fraction(bounds) -> None:
    lower, upper = bounds
    key = between(lower, upper)
    assert (lower is None or lower < key) and (upper is None or key < upper)
    # An integer key (`a1`) is what a later creation may be: a move never takes one.
    assert len(key) > 2


def test_a_move_after_the_last_still_comes_before_a_later_creation() -> None:
    last = created(NOW)
    moved = between(last, None)
    assert last < moved < created(NOW + timedelta(microseconds=1))


@pytest.mark.parametrize("bounds", [(None, None), ("a0V", None), (None, "a0V"), ("a0", "a0V")])
def test_spread_keys_are_in_order_between_the_bounds(bounds) -> None:
    lower, upper = bounds
    keys = spread(lower, upper, 500)
    assert keys == sorted(keys) and len(set(keys)) == 500
    assert all((lower is None or lower < k) and (upper is None or k < upper) for k in keys)


@pytest.mark.parametrize(
    "spot",
    [
        lambda siblings, step: 1,  # always right after the first
        lambda siblings, step: 0,  # always first
        lambda siblings, step: len(siblings.keys) - 1,  # always right before the last
        lambda siblings, step: len(siblings.keys) // 2,  # always in the middle
    ],
    ids=["after the first", "first", "before the last", "middle"],
)
def test_ten_thousand_inserts_at_one_spot_keep_keys_under_50_characters(spot) -> None:
    async def run() -> Siblings:
        siblings = Siblings(3)
        for step in range(10_000):
            record_id = 100 + step
            siblings.add(record_id, created(NOW + timedelta(hours=1, microseconds=step)))
            await siblings.move(record_id, spot(siblings, step))
        return siblings

    siblings = anyio.run(run)
    assert max(map(len, siblings.keys)) < 50
    assert siblings.keys == sorted(siblings.keys) and len(set(siblings.keys)) == 10_003
    # Respacing rewrites the crowded neighbours now and then (a few rows per insert at worst,
    # for inserts that always go to one spot), never the whole list each time.
    assert 0 < siblings.respaced < 4 * 10_000


def test_ten_thousand_moves_side_by_side_at_one_spot_keep_keys_apart_and_short() -> None:
    async def run() -> Siblings:
        siblings = Siblings(3)
        for step in range(10_000):
            record_id = 100 + step
            siblings.add(record_id, created(NOW + timedelta(hours=1, microseconds=step)))
            await siblings.move(record_id, 1, side_by_side=True)
        return siblings

    siblings = anyio.run(run)
    assert max(map(len, siblings.keys)) <= positions.RESPACE_BEYOND
    assert siblings.keys == sorted(siblings.keys) and len(set(siblings.keys)) == 10_003
    assert 0 < siblings.respaced < 4 * 10_000


@pytest.mark.parametrize(
    "bounds", [(None, None), ("a0", None), (None, "a0V"), ("a0", "a0V"), ("a0p", "a0q2")]
)
def test_records_placed_apart_in_one_gap_get_keys_of_their_own_between_its_ends(bounds) -> None:
    lower, upper = bounds
    ids = (1, 61, 62, 3843, 2**31 - 1)
    keys = [key for key in (apart(lower, upper, record_id) for record_id in ids) if key]
    assert len(set(keys)) == len(ids)
    assert all((lower is None or lower < k) and (upper is None or k < upper) for k in keys)


def test_a_key_apart_ends_with_the_records_id_and_how_many_digits_it_took() -> None:
    assert apart("a0", "a1", 1) == between("a0", "a1") + "11"
    assert apart("a0", "a1", 62) == between("a0", "a1") + "102"


def _crowded() -> tuple[str, str]:
    """Two keys with no room between them for a key apart."""
    lower, upper = "a0", "a1"
    while (key := apart(lower, upper, 7)) is not None:
        upper = key
    return lower, upper


@pytest.mark.parametrize("gap", [_crowded(), ("a0V", "a0V")], ids=["crowded", "equal keys"])
def test_a_gap_too_narrow_for_a_key_apart_is_one_place_respaces(gap) -> None:
    lower, upper = gap

    async def read(at: str, count: int, upward: bool) -> list[Sibling]:
        return [Sibling(2 if upward else 1, at)]

    assert apart(lower, upper, 7) is None
    assert anyio.run(place, lower, upper, read).respaced


def test_random_moves_never_respace_and_keep_every_record() -> None:
    async def run() -> Siblings:
        siblings = Siblings(200)
        shuffle = random.Random(7)
        for _ in range(2000):
            await siblings.move(shuffle.choice(siblings.ids), shuffle.randrange(200))
        return siblings

    siblings = anyio.run(run)
    assert sorted(siblings.ids) == list(range(200))
    assert max(map(len, siblings.keys)) <= positions.RESPACE_BEYOND


def test_two_equal_keys_are_respaced_apart() -> None:
    async def run() -> positions.Placed:
        twins = [Sibling(1, "a0V"), Sibling(2, "a0V")]

        async def read(at: str, count: int, upward: bool) -> list[Sibling]:
            return (twins[1:] if upward else twins[:1])[:count]

        return await place("a0V", "a0V", read)

    placed = anyio.run(run)
    keys = dict(placed.respaced)
    assert keys[1] < placed.position < keys[2]
