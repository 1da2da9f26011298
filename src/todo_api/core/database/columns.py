"""Column types and helpers every domain's tables use."""

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, String, Table, TypeDecorator, inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The table a table model maps (SQLModel leaves `__table__` untyped)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamptz that always comes back timezone-aware, on SQLite too.

    SQLite has no time zones: values are stored as UTC and marked UTC again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (compact, queryable), JSON text on SQLite.
JSONValue = JSON().with_variant(JSONB(), "postgresql")

# A manual order's key (`core/positions.py`): compared bytewise, which PostgreSQL does only
# with the "C" collation (SQLite always does).
PositionKey = String(64).with_variant(String(64, collation="C"), "postgresql")
