"""The application's state: everything it runs with, built once (by `create_app` and the
lifespan) and only read afterwards, one object of each class, found by that class.

Routes and dependencies never read `app.state` themselves: they declare what they need as a
typed dependency, `Annotated[ChangeBroker, Depends(provide(ChangeBroker))]`, and each domain
names its own (`StoreDep`, `SettingsDep` here).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.applications import Starlette

from todo_api.core.config import Settings
from todo_api.core.database import Store

T = TypeVar("T")


class AppState:
    """One object of each class the app runs with."""

    def __init__(self) -> None:
        self._parts: dict[type, object] = {}

    def add(self, part: T, kind: type[T] | None = None) -> T:
        """Keep `part`, to be found by its class (or `kind`, a base class of it)."""
        self._parts[kind or type(part)] = part
        return part

    def get(self, kind: type[T]) -> T:
        """The object of this class; KeyError if the app runs without one."""
        part = self._parts[kind]
        assert isinstance(part, kind)
        return part

    def find(self, kind: type[T]) -> T | None:
        """The object of this class, or None if the app runs without one (a feature off)."""
        part = self._parts.get(kind)
        assert part is None or isinstance(part, kind)
        return part

    def remove(self, kind: type) -> None:
        """Forget the object of this class (at shutdown)."""
        self._parts.pop(kind, None)


def app_state(app: Starlette) -> AppState:
    """The state of `app` (made by `create_app`)."""
    state: AppState = app.state.todo
    return state


def provide(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency that gives the app's object of class `kind`."""

    async def dependency(request: Request) -> T:
        return app_state(request.app).get(kind)

    dependency.__name__ = f"get_{kind.__name__}"
    return dependency


SettingsDep = Annotated[Settings, Depends(provide(Settings))]
StoreDep = Annotated[Store, Depends(provide(Store))]
