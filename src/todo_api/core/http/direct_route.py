"""A route that calls its endpoint from a plan of its dependencies made once, not solved anew.

FastAPI's request handler does, on every request, work the busiest routes never need: it
looks for a body to parse (they read their own, `request_parts.py`), keeps telemetry and an
error context for messages, and walks the dependency tree asking of every parameter what kind
it is. `DirectRoute` asks once, when the route is built. An endpoint whose parameters and
dependencies are all of the kinds below is called straight from that plan; any other keeps
FastAPI's handler, and so does every request while `app.dependency_overrides` holds anything
(the plan knows nothing of overrides) or FastAPI traces it (OpenTelemetry on: its handler
reports its steps as spans).

The kinds: the `Request`; a path parameter typed `str` or `int` with no constraints, which its
path converter has already made that type (FastAPI's validation could not fail); an `async`
dependency (not a generator or a class) of these kinds, without OAuth scopes, called
once per request however often it is named, in the order FastAPI calls it. The endpoint must
be `async` and declare that it returns a `Response`, sent as it is.
tests/core/http/test_direct_route.py pins the answers to FastAPI's handler's.
"""

import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, get_type_hints

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.telemetry import get_telemetry_data
from starlette.convertors import Convertor, IntegerConvertor, StringConvertor
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# The path parameter types whose converter already gives a valid value, and that converter.
_CONVERTERS: dict[type, type[Convertor[Any]]] = {str: StringConvertor, int: IntegerConvertor}


@dataclass(frozen=True, slots=True)
class _Call:
    """One call of the plan: `function` with the request, path parameters and the values of
    earlier calls, by parameter name."""

    function: Callable[..., Coroutine[Any, Any, Any]]
    request: str | None
    path: tuple[tuple[str, str], ...]  # (parameter, path parameter)
    earlier: tuple[tuple[str, int], ...]  # (parameter, index of the call giving it)


def _is_async(call: object) -> bool:
    if inspect.isclass(call) or inspect.isgeneratorfunction(call):
        return False
    if inspect.iscoroutinefunction(call):
        return True
    method = getattr(call, "__call__", None)  # noqa: B004 (a dependency instance's method)
    return inspect.ismethod(method) and inspect.iscoroutinefunction(method)


def _plain_path_params(dependant: Dependant, converters: dict[str, Convertor[Any]]) -> bool:
    for field in dependant.path_params:
        info = field.field_info
        expected = _CONVERTERS.get(info.annotation) if isinstance(info.annotation, type) else None
        converter = converters.get(field.alias)
        if expected is None or info.metadata or not isinstance(converter, expected):
            return False
    return True


class _Planner:
    """The calls a route's dependant makes, in FastAPI's order, or None where one is of a
    kind the plan does not know."""

    def __init__(self, converters: dict[str, Convertor[Any]]) -> None:
        self.converters = converters
        self.calls: list[_Call] = []
        self.cached: dict[int, int] = {}  # id of a dependency's callable → its call's index

    def add(self, dependant: Dependant) -> int | None:
        call = dependant.call
        if (
            call is None
            or not _is_async(call)
            or dependant.query_params
            or dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
            or dependant.websocket_param_name
            or dependant.http_connection_param_name
            or dependant.response_param_name
            or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name
            or dependant.own_oauth_scopes
            or dependant.parent_oauth_scopes
            or dependant.concurrency is not None
            or not _plain_path_params(dependant, self.converters)
        ):
            return None
        # Its own dependencies first, even when it is cached: FastAPI solves them again, and
        # an uncached one among them is called again.
        earlier: list[tuple[str, int]] = []
        for sub in dependant.dependencies:
            index = self.add(sub)
            if index is None or sub.name is None:
                return None
            earlier.append((sub.name, index))
        if dependant.use_cache and id(call) in self.cached:
            return self.cached[id(call)]
        path = tuple((field.name, field.alias) for field in dependant.path_params)
        self.calls.append(_Call(call, dependant.request_param_name, path, tuple(earlier)))
        index = len(self.calls) - 1
        self.cached.setdefault(id(call), index)
        return index


def _returns_response(endpoint: Callable[..., Any]) -> bool:
    try:
        returned = get_type_hints(endpoint).get("return")
    except (NameError, TypeError):
        return False
    return inspect.isclass(returned) and issubclass(returned, Response)


def plan(route: APIRoute) -> tuple[_Call, ...] | None:
    """The calls that answer `route`'s requests, the endpoint's last; None when the route
    needs FastAPI's handler."""
    if not _returns_response(route.endpoint):
        return None
    planner = _Planner(route.param_convertors)
    if planner.add(route.dependant) is None:
        return None
    return tuple(planner.calls)


class DirectRoute(APIRoute):
    """An APIRoute whose endpoint is called from its plan when it has one (the module says
    which routes do), through FastAPI's handler otherwise.

    Only the route's own handler is planned: the one its app calls when the route is in the
    app's routes itself (as `main.create_app` puts the task routes). FastAPI builds another
    handler each time a router holding the route is included, with that inclusion's
    dependencies and overrides; those keep FastAPI's handler.
    """

    # Whether the route's own handler answers from a plan.
    direct = False
    _own_handler_built = False

    def get_route_handler(self) -> Handler:
        fastapi_handler = super().get_route_handler()
        if self._own_handler_built:  # an inclusion's handler
            return fastapi_handler
        self._own_handler_built = True
        calls = plan(self)
        self.direct = calls is not None
        if calls is None:
            return fastapi_handler
        overrides = self.dependency_overrides_provider

        async def handler(request: Request) -> Response:
            if get_telemetry_data() is not None or (
                overrides is not None and getattr(overrides, "dependency_overrides", None)
            ):
                return await fastapi_handler(request)
            path_params = request.path_params
            values: list[Any] = []
            for call in calls:
                arguments = {name: values[index] for name, index in call.earlier}
                for name, key in call.path:
                    arguments[name] = path_params[key]
                if call.request is not None:
                    arguments[call.request] = request
                values.append(await call.function(**arguments))
            response: Response = values[-1]
            return response

        return handler
