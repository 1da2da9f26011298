"""The `Database` every query goes through: Core statements in, rows as dicts out.

Statements are SQLAlchemy Core, built from the SQLModel tables. On PostgreSQL they are compiled
once by SQLAlchemy and run straight on asyncpg's pool (`postgres.py`): an ORM session would
cost more than the query itself. On SQLite, the embedded default, they run through SQLAlchemy
(`sqlite.py`).
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import text
from sqlalchemy.sql import ClauseElement

Row = dict[str, Any]
Params = Mapping[str, Any] | None
R = TypeVar("R", bound=Mapping[str, Any])


class IntegrityViolation(Exception):
    """A unique, foreign-key or check constraint refused a write."""


class Rows(Generic[R]):
    """A statement and the shape of the rows it returns (a TypedDict): what the database hands
    back for it is typed as such, with no cast where it is used."""

    __slots__ = ("statement",)

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement


class Database(ABC):
    """Runs Core statements and returns rows as dicts; `transaction()` groups several."""

    dialect_name: str

    @overload
    async def fetch_all(self, statement: Rows[R], params: Params = None) -> list[R]: ...
    @overload
    async def fetch_all(self, statement: ClauseElement, params: Params = None) -> list[Row]: ...
    async def fetch_all(
        self, statement: ClauseElement | Rows[Any], params: Params = None
    ) -> list[Any]:
        """Every row the statement returns."""
        if isinstance(statement, Rows):
            statement = statement.statement
        return await self._fetch_all(statement, params)

    @overload
    async def fetch_one(self, statement: Rows[R], params: Params = None) -> R | None: ...
    @overload
    async def fetch_one(self, statement: ClauseElement, params: Params = None) -> Row | None: ...
    async def fetch_one(self, statement: ClauseElement | Rows[Any], params: Params = None) -> Any:
        """The first row, or None."""
        if isinstance(statement, Rows):
            statement = statement.statement
        return await self._fetch_one(statement, params)

    @abstractmethod
    async def _fetch_all(self, statement: ClauseElement, params: Params) -> list[Row]: ...

    @abstractmethod
    async def _fetch_one(self, statement: ClauseElement, params: Params) -> Row | None: ...

    @abstractmethod
    async def execute(self, statement: ClauseElement, params: Params = None) -> int:
        """Run a statement that returns no rows; the number of rows it touched."""

    async def scalar(self, statement: ClauseElement, params: Params = None) -> Any:
        """The first column of the first row, or None."""
        row = await self._fetch_one(statement, params)
        return None if row is None else next(iter(row.values()))

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager["Database"]:
        """`async with db.transaction() as tx:` runs statements on `tx` as one transaction
        (inside one already, on the same one)."""

    async def ping(self) -> None:
        """Raise DatabaseUnavailable unless a trivial query succeeds."""
        await self._fetch_one(text("SELECT 1"), None)

    @abstractmethod
    async def close(self) -> None:
        """Release every connection."""
