"""CalDAV's endpoints: `/.well-known/caldav`, PROPFIND on `/`, and everything under `/dav`
(PROPFIND, REPORT, GET, PUT, DELETE, OPTIONS), as Starlette routes: WebDAV's methods and XML
bodies are nothing FastAPI's OpenAPI document can describe."""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from todo_api import sync
from todo_api.accounts import Caller
from todo_api.calendars.dav import collections as paths
from todo_api.calendars.dav import objects, properties, reports, writes
from todo_api.calendars.dav.auth import dav_caller
from todo_api.calendars.dav.collections import DavPath
from todo_api.calendars.dav.errors import (
    ALLOW,
    BadXml,
    CalendarNotFound,
    MethodNotAllowed,
    ObjectNotFound,
    UnsupportedReport,
)
from todo_api.calendars.dav.properties import Props
from todo_api.calendars.dav.xml import CALDAV, DAV, Element, multistatus, parse, tag
from todo_api.calendars.dav.xml import Response as DavResponse
from todo_api.core.state import app_state

_DAV_HEADERS = {"DAV": "1, 3, calendar-access", "Allow": ALLOW}
_XML = "application/xml; charset=utf-8"
_CALENDAR = "text/calendar; charset=utf-8"


def _multistatus(responses: list[DavResponse], token: str | None = None) -> Response:
    return Response(multistatus(responses, token), 207, media_type=_XML)


def _depth(request: Request) -> int:
    return 0 if request.headers.get("depth", "1").strip() == "0" else 1


def _horizon(request: Request) -> sync.ChangeHorizon | None:
    return app_state(request.app).find(sync.ChangeHorizon)


async def _token(request: Request, caller: Caller) -> str | None:
    horizon = _horizon(request)
    if horizon is None:
        return None
    return reports.sync_token(await sync.cursor(caller.db, horizon, caller.user_id))


def _own(caller: Caller, where: DavPath) -> None:
    """Another user's principal or calendars are as if they did not exist."""
    if where.user is not None and where.user != caller.user_id:
        raise CalendarNotFound()


async def _propfind(request: Request, caller: Caller, where: DavPath) -> Response:
    want = properties.wanted(parse(await request.body()))
    user = caller.user_id
    found: list[tuple[str, Props]] = []
    if where.kind in ("root", "principals", "calendars"):
        found.append((request.url.path, properties.root_props(user)))
    elif where.kind == "principal":
        found.append((paths.principal_path(user), properties.principal_props(user)))
    elif where.kind == "home":
        found.append((paths.home_path(user), properties.home_props(user)))
        if _depth(request):
            token = await _token(request, caller)
            for calendar in await paths.calendars_of(caller.db, user):
                path = paths.calendar_path(user, calendar)
                found.append((path, properties.calendar_props(user, calendar, token)))
    elif where.kind == "calendar":
        calendar = await paths.calendar_for(caller.db, user, where.calendar or "")
        token = await _token(request, caller)
        found.append(
            (paths.calendar_path(user, calendar), properties.calendar_props(user, calendar, token))
        )
        if _depth(request):
            rows = await objects.tasks_in(caller.db, user, calendar)
            for obj in await objects.as_objects(caller.db, rows):
                path = paths.object_path(user, calendar, obj.name)
                found.append((path, properties.object_props(obj)))
    else:
        calendar = await paths.calendar_for(caller.db, user, where.calendar or "")
        one = await objects.find(caller.db, calendar, where.name or "")
        if one is None:
            raise ObjectNotFound()
        found.append((paths.object_path(user, calendar, one.name), properties.object_props(one)))
    return _multistatus([DavResponse(*want.pick(path, props)) for path, props in found])


async def _report(request: Request, caller: Caller, where: DavPath) -> Response:
    query = parse(await request.body())
    if query is None:
        raise BadXml("A REPORT needs a body")
    if where.kind != "calendar":
        raise UnsupportedReport()
    user, db = caller.user_id, caller.db
    calendar = await paths.calendar_for(db, user, where.calendar or "")
    if query.tag == tag(CALDAV, "calendar-query"):
        return _multistatus(await reports.calendar_query(db, user, calendar, query))
    if query.tag == tag(CALDAV, "calendar-multiget"):
        return _multistatus(await reports.calendar_multiget(db, user, calendar, query))
    if query.tag == tag(DAV, "sync-collection") and (horizon := _horizon(request)) is not None:
        found, token = await reports.sync_collection(db, horizon, user, calendar, query)
        return _multistatus(found, token)
    raise UnsupportedReport()


async def _object(caller: Caller, where: DavPath) -> tuple[paths.Calendar, str]:
    if where.kind != "object" or not where.name:
        raise MethodNotAllowed()
    return await paths.calendar_for(caller.db, caller.user_id, where.calendar or ""), where.name


async def _get(request: Request, caller: Caller, where: DavPath) -> Response:
    calendar, name = await _object(caller, where)
    obj = await objects.find(caller.db, calendar, name)
    if obj is None:
        raise ObjectNotFound()
    return Response(obj.ical(), media_type=_CALENDAR, headers={"ETag": obj.etag})


def _conditions(request: Request) -> writes.Conditions:
    headers = request.headers
    return writes.Conditions(headers.get("if-match"), headers.get("if-none-match"))


async def _put(request: Request, caller: Caller, where: DavPath) -> Response:
    calendar, name = await _object(caller, where)
    body = await request.body()
    written, created = await writes.put(caller, calendar, name, body, _conditions(request))
    # The ETag even though the object is the task's rendering, not the client's bytes (RFC 4791
    # 5.3.4 would leave it out): vdirsyncer records none without it, and then reads its next
    # edit as a conflict.
    return Response(status_code=201 if created else 204, headers={"ETag": written.etag})


async def _delete(request: Request, caller: Caller, where: DavPath) -> Response:
    calendar, name = await _object(caller, where)
    await writes.delete(caller, calendar, name, _conditions(request))
    return Response(status_code=204)


async def _proppatch(request: Request, caller: Caller, where: DavPath) -> Response:
    """Properties are not set over WebDAV (a list is renamed or colored through the API):
    each one asked for is refused, as RFC 4918 answers a PROPPATCH it cannot apply."""
    body = parse(await request.body())
    if where.kind == "calendar":
        await paths.calendar_for(caller.db, caller.user_id, where.calendar or "")
    names = [] if body is None else [prop.tag for prop in body.iter() if _is_set_prop(body, prop)]
    return _multistatus([DavResponse(request.url.path, refused=names)])


def _is_set_prop(root: Element, node: Element) -> bool:
    return any(node in list(prop) for prop in root.iter(tag(DAV, "prop")))


Handler = Callable[[Request, Caller, DavPath], Awaitable[Response]]
_HANDLERS: dict[str, Handler] = {
    "PROPFIND": _propfind,
    "REPORT": _report,
    "GET": _get,
    "PUT": _put,
    "DELETE": _delete,
    "PROPPATCH": _proppatch,
}


async def dav(request: Request) -> Response:
    """Any request under `/dav`."""
    if request.method == "OPTIONS":
        return Response(headers=_DAV_HEADERS)
    handler = _HANDLERS.get(request.method)
    if handler is None:
        raise MethodNotAllowed()
    where = paths.parse_path(request.url.path) or DavPath("missing")
    caller = await dav_caller(request)
    if where.kind == "missing":
        raise CalendarNotFound()
    _own(caller, where)
    return await handler(request, caller, where)


async def root_propfind(request: Request) -> Response:
    """PROPFIND on `/`: where the caller's principal is (clients given only the host)."""
    caller = await dav_caller(request)
    return await _propfind(request, caller, DavPath("root"))


async def well_known(request: Request) -> Response:
    """RFC 6764: the CalDAV context path."""
    return RedirectResponse(f"{paths.PREFIX}/", status_code=301)


_METHODS = [
    "OPTIONS",
    "GET",
    "PUT",
    "DELETE",
    "PROPFIND",
    "REPORT",
    "PROPPATCH",
    "MKCALENDAR",
    "MOVE",
    "COPY",
]
routes: list[BaseRoute] = [
    Route("/.well-known/caldav", well_known, methods=["GET", "PROPFIND", "OPTIONS"]),
    Route("/", root_propfind, methods=["PROPFIND"]),
    Route(paths.PREFIX, dav, methods=_METHODS),
    Route(f"{paths.PREFIX}/{{path:path}}", dav, methods=_METHODS),
]
