"""DirectRoute: which routes it plans, and that they answer as FastAPI's handler would."""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.routing import APIRoute, request_response
from fastapi.testclient import TestClient
from opentelemetry import trace
from starlette.responses import JSONResponse, Response

from tests.conftest import Headers
from todo_api.core.http.direct_route import DirectRoute
from todo_api.tasks.routes import router as tasks_router


@contextmanager
def fastapi_handlers(routes: list[Any]) -> Iterator[None]:
    """The planned routes among `routes` answer through FastAPI's handler meanwhile."""
    planned = [route for route in routes if isinstance(route, DirectRoute) and route.direct]
    saved = [route.app for route in planned]
    try:
        for route in planned:
            route.app = request_response(APIRoute.get_route_handler(route))
        yield
    finally:
        for route, app in zip(planned, saved, strict=True):
            route.app = app


def test_the_busiest_task_routes_are_planned() -> None:
    planned = {
        (method, route.path)
        for route in tasks_router.routes
        if isinstance(route, DirectRoute) and route.direct
        for method in route.methods
    }
    one = "/api/{user_id}/tasks/{task_id:int}"
    assert planned == {
        ("GET", "/api/{user_id}/tasks"),
        ("POST", "/api/{user_id}/tasks"),
        ("GET", one),
        ("PUT", one),
        ("PATCH", one),
        ("PATCH", one + "/complete"),
        ("POST", one + "/move"),
    }


# --- against the service: the same requests, through the plan and through FastAPI ---------------

# (method, path, body, extra headers); {me} is the caller, {task} the first task they created
# (in a body, also {last}: the latest).
STEPS: list[tuple[str, str, Any, Headers]] = [
    ("POST", "/api/{me}/tasks", {"title": "Milk", "due_date": "2031-01-02", "tags": ["x"]}, {}),
    ("POST", "/api/{me}/tasks", {"title": "Keyed"}, {"Idempotency-Key": "k"}),
    ("POST", "/api/{me}/tasks", {"title": "Keyed"}, {"Idempotency-Key": "k"}),
    ("POST", "/api/{me}/tasks", b'{"title": ', {"Content-Type": "application/json"}),
    ("POST", "/api/{me}/tasks", {"title": " "}, {}),
    ("GET", "/api/{me}/tasks", None, {}),
    ("GET", "/api/{me}/tasks?status=pending&limit=1", None, {}),
    ("GET", "/api/{me}/tasks?limit=0", None, {}),
    ("GET", "/api/{me}/tasks/{task}", None, {}),
    ("GET", "/api/{me}/tasks/{task}", None, {"If-None-Match": "*"}),
    ("PUT", "/api/{me}/tasks/{task}", {"title": "Oat milk"}, {}),
    ("PATCH", "/api/{me}/tasks/{task}", {"priority": "high"}, {"If-Match": '"99-1"'}),
    ("PATCH", "/api/{me}/tasks/{task}", {"priority": "high"}, {}),
    ("PATCH", "/api/{me}/tasks/{task}/complete", None, {}),
    ("POST", "/api/{me}/tasks", {"title": "Second"}, {}),
    ("POST", "/api/{me}/tasks/{task}/move", {"after_id": "{last}"}, {}),
    ("POST", "/api/{me}/tasks/{task}/move", {}, {}),
    ("POST", "/api/{me}/tasks/{task}/move", {"after_id": "{task}"}, {}),
    ("POST", "/api/{me}/tasks/{task}/move", {"list_id": "x"}, {}),
    ("POST", "/api/{me}/tasks/{task}/move", b"[", {"Content-Type": "application/json"}),
    ("POST", "/api/{me}/tasks/{task}/move", None, {}),
    ("GET", "/api/{me}/tasks/999999", None, {}),
    ("PATCH", "/api/{me}/tasks/999999/complete", None, {}),
    ("GET", "/api/{me}/tasks/{task}x", None, {}),
    ("GET", "/api/carol/tasks", None, {}),
    ("PATCH", "/api/carol/tasks/{task}/complete", None, {}),
    ("GET", "/api/{me}/tasks", None, {"Authorization": ""}),
    ("GET", "/api/{me}/tasks", None, {"Authorization": "Token abc"}),
    ("POST", "/api/{me}/tasks", {"title": "t"}, {"Authorization": "Bearer not.a.jwt"}),
]


def _normal(value: Any, user: str, ids: list[int]) -> Any:
    """`value` with what differs between two users' runs replaced: their ids and times."""
    if isinstance(value, dict):
        return {key: _field(key, item, user, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_normal(item, user, ids) for item in value]
    if isinstance(value, str):
        return value.replace(user, "ME")
    return value


def _field(key: str, value: Any, user: str, ids: list[int]) -> Any:
    if key in ("id", "parent_id") and isinstance(value, int):
        return f"task {ids.index(value)}" if value in ids else value
    if (key.endswith("_at") or key == "position") and value is not None:
        return "…"  # times, and positions drawn from the time
    return _normal(value, user, ids)


def _placed(body: Any, ids: list[int]) -> Any:
    """`body` with "{task}" and "{last}" for the first and the latest task created."""
    if not isinstance(body, dict):
        return body
    named = {"{task}": ids[0] if ids else 0, "{last}": ids[-1] if ids else 0}
    return {
        key: named.get(value, value) if isinstance(value, str) else value
        for key, value in body.items()
    }


def _run(client: TestClient, user: str, auth: Headers) -> list[Any]:
    ids: list[int] = []
    answers = []
    for method, path, body, extra in STEPS:
        url = path.format(me=user, task=ids[0] if ids else 0)
        headers = auth | extra
        if not headers.get("Authorization"):
            headers.pop("Authorization", None)
        content = body if isinstance(body, bytes) else None
        json = None if isinstance(body, bytes) else _placed(body, ids)
        response = client.request(method, url, headers=headers, content=content, json=json)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        data = response.json() if is_json and response.content else response.text
        if method == "POST" and response.status_code == 201 and data["id"] not in ids:
            ids.append(data["id"])
        shown = {
            name: value.replace(user, "ME")
            for name, value in response.headers.items()
            if name not in ("date", "x-request-id", "content-length")
        }
        for name in ("etag", "x-changes-cursor"):
            if name in shown:
                shown[name] = "…"
        if "link" in shown:
            shown["link"] = re.sub(r"cursor=[^&>]+", "cursor=…", shown["link"])
        answers.append((method, path, response.status_code, shown, _normal(data, user, ids)))
    return answers


def test_planned_task_routes_answer_as_fastapi_s_handler_does(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    planned = _run(client, "alice", alice)
    with fastapi_handlers(client.app.router.routes):
        by_fastapi = _run(client, "bob", bob)
    assert [answer[2] for answer in planned] == [
        201, 201, 201, 422, 422, 200, 200, 422, 200, 304, 200, 412, 200, 200,
        201, 200, 200, 200, 422, 422, 422,
        404, 404, 404, 403, 403, 401, 401, 401,
    ]  # fmt: skip
    for mine, theirs in zip(planned, by_fastapi, strict=True):
        assert mine == theirs


# --- on an app of its own: what is planned, and what keeps FastAPI's handler -------------------

calls: list[str] = []


async def counted() -> str:
    calls.append("counted")
    return "c"


async def caller(request: Request, user_id: Annotated[str, Path()]) -> str:
    calls.append("caller")
    return f"{user_id} via {request.method}"


def sync_dependency() -> str:
    return "s"


async def generator_dependency() -> Any:
    yield "g"


async def plain(
    request: Request,
    who: Annotated[str, Depends(caller)],
    one: Annotated[str, Depends(counted)],
    again: Annotated[str, Depends(counted)],
    number: Annotated[int, Path()],
) -> Response:
    return JSONResponse({"who": who, "one": one, "again": again, "number": number})


async def uncached(
    one: Annotated[str, Depends(counted)],
    fresh: Annotated[str, Depends(counted, use_cache=False)],
) -> Response:
    return JSONResponse([one, fresh])


async def counting_parent(fresh: Annotated[str, Depends(counted, use_cache=False)]) -> str:
    calls.append("parent")
    return "p"


async def parent_twice(
    first: Annotated[str, Depends(counting_parent)],
    second: Annotated[str, Depends(counting_parent)],
) -> Response:
    # FastAPI solves a cached dependency's own dependencies again: the uncached one runs twice.
    return JSONResponse([first, second])


async def with_query(q: Annotated[str, Query()]) -> Response:
    return JSONResponse(q)


async def with_body(body: Annotated[dict[str, int], Body()]) -> Response:
    return JSONResponse(body)


async def with_sync(value: Annotated[str, Depends(sync_dependency)]) -> Response:
    return JSONResponse(value)


async def with_generator(value: Annotated[str, Depends(generator_dependency)]) -> Response:
    return JSONResponse(value)


async def returns_a_dict() -> dict[str, str]:
    return {"a": "b"}


async def constrained(number: Annotated[int, Path(ge=5)]) -> Response:
    return JSONResponse(number)


async def int_as_text(number: Annotated[int, Path()]) -> Response:
    return JSONResponse(number)


ENDPOINTS: list[tuple[str, Callable[..., Any], bool]] = [
    ("/{user_id}/plain/{number:int}", plain, True),
    ("/uncached", uncached, True),
    ("/parent-twice", parent_twice, True),
    ("/query", with_query, False),
    ("/body", with_body, False),
    ("/sync", with_sync, False),
    ("/generator", with_generator, False),
    ("/dict", returns_a_dict, False),
    ("/constrained/{number:int}", constrained, False),
    ("/text/{number}", int_as_text, False),  # the path converter gives a str
]


def _toy_router(app: FastAPI) -> APIRouter:
    router = APIRouter(route_class=DirectRoute, dependency_overrides_provider=app)
    for path, endpoint, _ in ENDPOINTS:
        router.add_api_route(path, endpoint, methods=["GET", "POST"])
    return router


@pytest.fixture
def toy() -> Iterator[TestClient]:
    """An app holding the routes itself, as the service holds its task routes."""
    app = FastAPI()
    app.router.routes.extend(_toy_router(app).routes)
    with TestClient(app) as client:
        yield client


def test_a_route_is_planned_only_when_every_parameter_is_of_a_known_kind(
    toy: TestClient,
) -> None:
    routes = toy.app.router.routes
    planned = {route.path: route.direct for route in routes if isinstance(route, DirectRoute)}
    assert planned == {path: direct for path, _, direct in ENDPOINTS}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/ann/plain/7", None),
        ("POST", "/ann/plain/7", None),
        ("GET", "/uncached", None),
        ("GET", "/parent-twice", None),
        ("GET", "/query?q=x", None),
        ("GET", "/query", None),
        ("POST", "/body", {"a": 1}),
        ("POST", "/body", {"a": "x"}),
        ("GET", "/sync", None),
        ("GET", "/generator", None),
        ("GET", "/dict", None),
        ("GET", "/constrained/7", None),
        ("GET", "/constrained/3", None),
        ("GET", "/text/7", None),
        ("GET", "/text/seven", None),
    ],
)
def test_every_route_answers_as_with_fastapi_s_handler(
    toy: TestClient, method: str, url: str, body: Any
) -> None:
    calls.clear()
    direct = toy.request(method, url, json=body)
    direct_calls = list(calls)
    calls.clear()
    with fastapi_handlers(toy.app.router.routes):
        by_fastapi = toy.request(method, url, json=body)
    assert (direct.status_code, direct.json()) == (by_fastapi.status_code, by_fastapi.json())
    assert direct_calls == calls  # the same dependencies, as often, in the same order


def test_overridden_dependencies_are_honoured_through_fastapi_s_handler(
    toy: TestClient,
) -> None:
    async def impostor() -> str:
        return "overridden"

    assert toy.get("/uncached").json() == ["c", "c"]
    toy.app.dependency_overrides[counted] = impostor
    assert toy.get("/uncached").json() == ["overridden", "overridden"]
    assert toy.get("/ann/plain/1").json()["one"] == "overridden"


class _Recorder(trace.TracerProvider):
    """A tracer provider that keeps the names of the spans started (no SDK needed)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        recorder = self

        class _Tracer(trace.NoOpTracer):
            def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
                recorder.names.append(name)
                return trace.INVALID_SPAN

        return _Tracer()


def test_a_request_fastapi_traces_goes_through_fastapi_s_handler() -> None:
    recorder = _Recorder()
    app = FastAPI(telemetry={"tracer_provider": recorder, "metrics": False, "logs": False})
    app.router.routes.extend(_toy_router(app).routes)
    with TestClient(app) as client:
        assert client.get("/ann/plain/7").json()["number"] == 7
    assert "fastapi.dependencies" in recorder.names  # FastAPI's handler's own span


def test_a_router_s_inclusion_keeps_fastapi_s_handler_with_its_dependencies() -> None:
    async def impostor() -> str:
        return "overridden"

    app = FastAPI()
    calls.clear()
    app.include_router(_toy_router(app), prefix="/in", dependencies=[Depends(counted)])
    app.dependency_overrides[caller] = impostor
    with TestClient(app) as client:
        answer = client.get("/in/ann/plain/7").json()
    assert answer == {"who": "overridden", "one": "c", "again": "c", "number": 7}
    assert calls == ["counted"]  # the inclusion's dependency, and the endpoint's cached
