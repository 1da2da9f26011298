"""`X-APPLE-SORT-ORDER` sorts as the positions it is made from do: keys made when tasks are
created, keys moves make between them, and the shorter keys migration 0016 gave old tasks."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from fractional_indexing import BASE_62_DIGITS, generate_key_between

from todo_api.calendars.dav.order import sort_order
from todo_api.core import positions


def migrated(number: int) -> str:
    """The key migration 0016 gave the task of this number (`e` and five digits)."""
    return "e" + "".join(BASE_62_DIGITS[(number // 62**power) % 62] for power in range(4, -1, -1))


def test_sort_orders_follow_positions_through_many_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(29)
    keys = sorted([migrated(n) for n in (1, 2, 500, 99_999)])
    # A fixed time and fixed random fractions: how many keys tie depends on the creation keys'
    # digits (docs/caldav.md: sort orders can tie), and a test must not depend on when it runs
    # or on the draw, nor on the keys this process made before.
    created = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(positions, "_FRACTIONS", random.Random(29))
    monkeypatch.setattr(positions, "_last_micros", 0)
    keys += [positions.created(created + timedelta(seconds=n)) for n in range(5)]
    for _ in range(500):
        spot = rng.randrange(len(keys) + 1)
        lower = keys[spot - 1] if spot else None
        upper = keys[spot] if spot < len(keys) else None
        keys.insert(spot, generate_key_between(lower, upper))
    orders = [sort_order(key) for key in keys]
    assert orders == sorted(orders)
    assert all(-(2**63) <= order < 2**63 for order in orders)
    # Ties only where moves pile up between the same two keys.
    assert len(set(orders)) > 0.9 * len(orders)
