"""`GET /api/{user_id}/events`: live changes over real sockets, from real servers."""

import asyncio
import signal
import time
from datetime import timedelta

import httpx2 as httpx
import pytest

from tests.conftest import TEST_SECRET, bearer, make_token
from tests.support.sse import open_stream
from tests.system.conftest import (
    FIGURES,
    DisposablePostgres,
    Server,
    StartServer,
    requires_postgres,
)
from todo_api.core.clock import utcnow
from todo_api.sync.cursors import ChangeCursor
from todo_api.sync.tickets import TicketSigner

ALICE = bearer(make_token("alice"))
BOB = bearer(make_token("bob"))


@pytest.fixture
def server(start_server: StartServer, database_url: str) -> Server:
    return start_server(database_url, events_heartbeat_seconds="0.5")


async def _create(client: httpx.AsyncClient, title: str, headers=ALICE, user="alice") -> dict:
    response = await client.post(f"/api/{user}/tasks", json={"title": title}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_each_change_arrives_once_as_id_event_and_data(server: Server) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=server.url) as client:
            async with open_stream(client, "/api/alice/events", headers=ALICE) as stream:
                task = await _create(client, "live")
                put = await client.put(
                    f"/api/alice/tasks/{task['id']}", json={"title": "renamed"}, headers=ALICE
                )
                await client.delete(f"/api/alice/tasks/{task['id']}", headers=ALICE)
                await _create(client, "bob's", headers=BOB, user="bob")
                events = [await stream.next_event() for _ in range(3)]
                assert await stream.events_within(1.0) == []  # nothing of bob's, no repeats
            log = (await client.get("/api/alice/changes", headers=ALICE)).json()["changes"]
        assert [event.event for event in events] == [
            "task.created",
            "task.updated",
            "task.deleted",
        ]
        assert [event.id for event in events] == [change["id"] for change in log]
        assert [event.change for event in events] == log
        assert events[0].change["task"] == task and events[1].change["task"] == put.json()
        FIGURES["live events received"] += len(events)

    asyncio.run(run())


def test_idle_streams_get_a_comment_every_heartbeat(server: Server) -> None:
    async def run() -> None:
        async with (
            httpx.AsyncClient(base_url=server.url) as client,
            open_stream(client, "/api/alice/events", headers=ALICE) as stream,
        ):
            assert await stream.next_comment() == "connected"
            started = time.monotonic()
            assert await stream.next_comment(timeout=5) == "keep-alive"
            assert await stream.next_comment(timeout=5) == "keep-alive"
            assert time.monotonic() - started < 3

    asyncio.run(run())


def test_last_event_id_resumes_with_no_gap_and_no_duplicate(server: Server) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=server.url) as client:
            async with open_stream(client, "/api/alice/events", headers=ALICE) as stream:
                await _create(client, "seen")
                seen = await stream.next_event()
            # The connection dropped; meanwhile two more changes commit.
            missed = [(await _create(client, f"missed {n}"))["id"] for n in range(2)]
            resumed = ALICE | {"Last-Event-ID": seen.id}
            async with open_stream(client, "/api/alice/events", headers=resumed) as stream:
                backlog = [await stream.next_event() for _ in range(2)]
                live = await _create(client, "live")
                after = await stream.next_event()
                assert await stream.events_within(1.0) == []
            # A new EventSource cannot set the header: `since` does the same.
            async with open_stream(
                client, "/api/alice/events", headers=ALICE, params={"since": seen.id}
            ) as stream:
                again = [await stream.next_event() for _ in range(3)]
        assert [event.change["task_id"] for event in backlog] == missed
        assert after.change["task_id"] == live["id"]
        assert [event.id for event in again] == [event.id for event in [*backlog, after]]

    asyncio.run(run())


def test_a_resume_point_the_log_cannot_serve_is_410_and_a_malformed_one_422(
    server: Server,
) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.post("/api/alice/tasks", json={"title": "one"}, headers=ALICE)
        head = ChangeCursor.decode(client.get("/api/alice/changes", headers=ALICE).json()["next"])
        ahead = ChangeCursor(head.epoch, head.position + 5).encode()
        gone = client.get("/api/alice/events", headers=ALICE | {"Last-Event-ID": ahead})
        malformed = client.get("/api/alice/events", headers=ALICE | {"Last-Event-ID": "x"})
    assert gone.status_code == 410 and "list the tasks again" in gone.json()["detail"]
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["header", "last-event-id"]


def test_tickets_open_only_their_users_stream_and_expire(server: Server) -> None:
    async def run() -> str:
        async with httpx.AsyncClient(base_url=server.url) as client:
            issued = await client.post("/api/alice/events/ticket", headers=ALICE)
            assert issued.status_code == 200
            body = issued.json()
            assert body["expires_in"] == 60 and set(body) == {"ticket", "expires_in"}
            ticket = body["ticket"]
            async with open_stream(
                client, "/api/alice/events", params={"ticket": ticket}
            ) as stream:
                await _create(client, "via ticket")
                assert (await stream.next_event()).event == "task.created"

            async def status(path: str, **request) -> int:
                return (await client.get(path, **request)).status_code

            bobs = (await client.post("/api/bob/events/ticket", headers=BOB)).json()["ticket"]
            expired = TicketSigner(TEST_SECRET).issue("alice", now=utcnow() - timedelta(seconds=61))
            forged = TicketSigner("another secret" * 4).issue("alice")
            assert await status("/api/alice/events", params={"ticket": bobs}) == 403
            assert await status("/api/alice/events", params={"ticket": expired}) == 401
            assert await status("/api/alice/events", params={"ticket": forged}) == 401
            assert await status("/api/alice/events", params={"ticket": "junk"}) == 401
            assert await status("/api/alice/events") == 401
            # A ticket is not a bearer token, and a bearer token is not a ticket.
            assert await status("/api/alice/tasks", headers=bearer(ticket)) == 401
            token = ALICE["Authorization"].removeprefix("Bearer ")
            assert await status("/api/alice/events", params={"ticket": token}) == 401
            assert (await client.post("/api/bob/events/ticket", headers=ALICE)).status_code == 403
            return ticket

    ticket = asyncio.run(run())
    server.stop()
    assert "/api/alice/events" in server.log()  # the access log has the path…
    assert ticket not in server.log()  # …but never the ticket


def test_shutdown_ends_open_streams_at_once(server: Server) -> None:
    async def run() -> float:
        async with (
            httpx.AsyncClient(base_url=server.url) as client,
            open_stream(client, "/api/alice/events", headers=ALICE) as stream,
        ):
            await stream.next_comment()
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(EOFError):
                await stream.next_event(timeout=20)
            return time.monotonic() - started

    ended_after = asyncio.run(run())
    # Uvicorn ends a graceful SIGTERM shutdown by re-raising the signal.
    assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
    # SHUTDOWN_TIMEOUT_SECONDS is 30: the stream did not sit it out.
    assert ended_after < 5, ended_after


@requires_postgres
def test_a_write_through_one_server_reaches_a_stream_on_another(
    start_server: StartServer, database_url: str
) -> None:
    one, other = start_server(database_url), start_server(database_url)

    async def run() -> None:
        async with (
            httpx.AsyncClient(base_url=one.url) as writer,
            httpx.AsyncClient(base_url=other.url) as reader,
            open_stream(reader, "/api/alice/events", headers=ALICE) as stream,
        ):
            await stream.next_comment()
            started = time.monotonic()
            for n in range(5):
                task = await _create(writer, f"from one {n}")
                event = await stream.next_event(timeout=5)
                assert event.change["task_id"] == task["id"]
            FIGURES["events across servers"] += 5
            assert time.monotonic() - started < 5

    asyncio.run(run())


@requires_postgres
def test_streams_survive_a_database_outage_and_resume_from_the_log(
    start_server: StartServer, disposable_postgres: DisposablePostgres
) -> None:
    server = start_server(disposable_postgres.url, events_heartbeat_seconds="0.5")

    async def run() -> None:
        async with (
            httpx.AsyncClient(base_url=server.url) as client,
            open_stream(client, "/api/alice/events", headers=ALICE) as stream,
        ):
            first = await _create(client, "before")
            assert (await stream.next_event()).change["task_id"] == first["id"]
            disposable_postgres.stop()
            await asyncio.sleep(2)
            assert await stream.next_comment(timeout=5) == "keep-alive"  # still open
            disposable_postgres.start()
            deadline = time.monotonic() + 30
            while True:
                response = await client.post(
                    "/api/alice/tasks", json={"title": "after"}, headers=ALICE
                )
                if response.status_code == 201 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            assert response.status_code == 201, response.text
            event = await stream.next_event(timeout=15)
            assert event.change["task_id"] == response.json()["id"]

    asyncio.run(run())
    assert "Traceback" not in server.log()


def test_a_ticket_opens_one_stream_only(server: Server) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=server.url) as client:
            ticket = (await client.post("/api/alice/events/ticket", headers=ALICE)).json()
            params = {"ticket": ticket["ticket"]}
            async with open_stream(client, "/api/alice/events", params=params) as stream:
                await stream.next_comment()  # connected
            again = await client.get("/api/alice/events", params=params)
            assert again.status_code == 401
            assert again.json() == {"detail": "Ticket already used"}

    asyncio.run(run())


@pytest.mark.parametrize("by", ["token", "ticket"])
def test_a_stream_ends_when_the_token_that_opened_it_expires(server: Server, by: str) -> None:
    short = bearer(make_token("alice", expires_in=timedelta(seconds=3)))

    async def run() -> float:
        async with httpx.AsyncClient(base_url=server.url) as client:
            request: dict = {"headers": short}
            if by == "ticket":
                issued = await client.post("/api/alice/events/ticket", headers=short)
                request = {"params": {"ticket": issued.json()["ticket"]}}
            started = time.monotonic()
            async with open_stream(client, "/api/alice/events", **request) as stream:
                with pytest.raises(EOFError):
                    while True:
                        await stream.next_comment(timeout=10)
                return time.monotonic() - started

    assert asyncio.run(run()) < 6


def test_open_streams_are_capped_per_user_and_per_address(
    start_server: StartServer, database_url: str
) -> None:
    capped = start_server(
        database_url, events_max_streams_per_user="2", events_max_streams_per_address="3"
    )

    async def run() -> None:
        async with httpx.AsyncClient(base_url=capped.url) as client:
            async with (
                open_stream(client, "/api/alice/events", headers=ALICE),
                open_stream(client, "/api/alice/events", headers=ALICE),
            ):
                third = await client.get("/api/alice/events", headers=ALICE)
                assert third.status_code == 429
                assert int(third.headers["retry-after"]) > 0
                assert "for this user" in third.json()["detail"]
                # Bob, from the same address: one more is the address's third.
                async with open_stream(client, "/api/bob/events", headers=BOB):
                    refused = await client.get("/api/bob/events", headers=BOB)
                    assert refused.status_code == 429
                    assert "from this address" in refused.json()["detail"]
            # Closed streams give their places back (once the server sees them gone: at the
            # next heartbeat it writes).
            deadline = time.monotonic() + 5
            while (status := await _stream_status(client, ALICE)) == 429:
                assert time.monotonic() < deadline, "the closed streams kept their places"
                await asyncio.sleep(0.2)
            assert status == 200

    asyncio.run(run())


async def _stream_status(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    async with client.stream("GET", "/api/alice/events", headers=headers) as response:
        return response.status_code
