"""`/api/{user_id}/events`: the caller's task changes as they commit (Server-Sent Events)."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.sse import EventSourceResponse

from todo_api.accounts import Caller, Owner, Principal, client_ip, get_owner, within_rate_limit
from todo_api.core.database import Database
from todo_api.core.errors import DatabaseUnavailable, Forbidden
from todo_api.core.http.responses import OWNER_ERRORS
from todo_api.core.state import app_state
from todo_api.sync import feed as change_feed
from todo_api.sync import tickets
from todo_api.sync.broker import PAGE, RETRY_SECONDS, ChangeBroker, Subscription, encode_event
from todo_api.sync.cursors import CursorExpired
from todo_api.sync.dependencies import BrokerDep, HorizonDep, TicketsDep
from todo_api.sync.horizon import ChangeHorizon
from todo_api.sync.routes import CURSOR_GONE, CURSOR_PATTERN, parse_cursor
from todo_api.sync.schemas import Ticket
from todo_api.sync.tickets import TICKET_SECONDS, TicketSigner

router = APIRouter(prefix="/api/{user_id}/events", tags=["sync"], responses=OWNER_ERRORS)

_CONNECTED = b": connected\n\n"
_KEEP_ALIVE = b": keep-alive\n\n"


@router.post("/ticket")
async def create_ticket(owner: Owner, signer: TicketsDep) -> Ticket:
    """A ticket for the caller's event stream: for `EventSource`, which cannot send headers.

    For this user's stream only, to be used once within a minute; the stream it opens ends
    when the token that asked for it expires.
    """
    ticket = signer.issue(owner.user_id, session_ends_at=owner.user.expires_at)
    return Ticket(ticket=ticket, expires_in=TICKET_SECONDS)


async def get_stream_owner(
    request: Request,
    user_id: Annotated[str, Path()],
    ticket: Annotated[
        str | None, Query(max_length=2048, description="From `POST …/events/ticket`.")
    ] = None,
) -> Caller:
    """The caller, by bearer token or by ticket (401 if invalid, expired or used already, 403
    if another's)."""
    if ticket is None:
        return await get_owner(request, user_id)
    state = app_state(request.app)
    opened = state.get(TicketSigner).verify(ticket)  # AuthError: 401
    if opened.user_id != user_id:
        raise Forbidden()
    await within_rate_limit(state, user_id)
    caller = Caller.of(state, Principal(user_id, expires_at=opened.session_ends_at))
    await tickets.spend(caller.db, opened)  # AuthError: 401
    return caller


StreamOwner = Annotated[Caller, Depends(get_stream_owner)]
LastEventId = Annotated[
    str | None,
    Header(
        pattern=CURSOR_PATTERN,
        description="The last change received (sent by EventSource itself).",
    ),
]


@router.get(
    "",
    # Not `response_class=EventSourceResponse`: FastAPI would expect a generator function.
    response_class=Response,
    responses=CURSOR_GONE
    | {
        200: {
            "description": "`id:` the change id, `event:` its type, `data:` the change JSON",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
    openapi_extra={"security": [{"HTTPBearer": []}, {}]},
)
async def stream_events(
    owner: StreamOwner,
    horizon: HorizonDep,
    broker: BrokerDep,
    request: Request,
    last_event_id: LastEventId = None,
    since: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="Like `Last-Event-ID`, for a new `EventSource`."),
    ] = None,
) -> EventSourceResponse:
    """The caller's changes as Server-Sent Events, each the moment it commits, on any replica.

    With `Last-Event-ID` (or `since`), every change after it comes first, then the live ones:
    no gap, no duplicate. A comment line every EVENTS_HEARTBEAT_SECONDS keeps it open. It ends
    when the token that opened it expires (for a ticket, the token that asked for it), and each
    user and client address may hold only so many at once (429 beyond).
    """
    resume_from = last_event_id or since
    position = None
    if resume_from is not None:
        position = parse_cursor(resume_from)
    address = client_ip(request)
    subscription = await broker.subscribe(owner.user_id, address)
    try:
        # Checked before the stream starts, so that the client gets its 410 (or 503).
        if position is None:
            head = await change_feed.cursor(owner.db, horizon, owner.user_id)
            first = change_feed.ChangePage([], head, more=False)
        else:
            first = await change_feed.read(owner.db, horizon, owner.user_id, position, PAGE)
    except BaseException:
        broker.unsubscribe(subscription)
        raise
    stream = _events(broker, owner.db, horizon, subscription, first, owner.user.expires_at)
    return EventSourceResponse(stream, headers={"X-Accel-Buffering": "no"})


async def _events(
    broker: ChangeBroker,
    db: Database,
    horizon: ChangeHorizon,
    subscription: Subscription,
    first: change_feed.ChangePage,
    ends_at: float | None,
) -> AsyncIterator[bytes]:
    """The backlog from the log, then the live changes, each once, in log order, until
    `ends_at` (a Unix time)."""
    user_id = subscription.user_id
    try:
        yield _CONNECTED
        for change in first.changes:
            yield encode_event(change)
        position, behind = first.next, first.more
        while True:
            wait = broker.heartbeat
            if ends_at is not None:
                wait = min(wait, ends_at - time.time())
                if wait <= 0:
                    return  # the token is spent: the client reconnects with a new one
            if behind:
                try:
                    page = await change_feed.read(db, horizon, user_id, position, PAGE)
                except DatabaseUnavailable:
                    # The log is the way back: keep the stream and try again.
                    yield _KEEP_ALIVE
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                except CursorExpired:
                    return  # the user's log started over: the client must list again
                for change in page.changes:
                    yield encode_event(change)
                position, behind = page.next, page.more
                continue
            try:
                async with asyncio.timeout(wait):
                    item = await subscription.queue.get()
            except TimeoutError:
                yield _KEEP_ALIVE
                continue
            if item is None:
                return
            if item.cursor.epoch != position.epoch:
                return  # the user's log started over: the client must list again
            if item.cursor.position <= position.position:
                continue  # already sent from the log
            if item.after > position.position:
                behind = True  # something in between: the log has it (and this one)
                continue
            yield item.data
            position = item.cursor
    finally:
        broker.unsubscribe(subscription)
