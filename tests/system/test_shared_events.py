"""A shared list's changes on members' open event streams (across two server processes on
PostgreSQL): each member gets each change once; a removed member's stream gets `list.left`,
then nothing."""

import asyncio

import httpx2 as httpx

from tests.conftest import TEST_DATABASE_URL, bearer, make_token
from tests.support.sse import open_stream
from tests.system.conftest import FIGURES, Server, StartServer

ALICE, BOB, CAROL = (bearer(make_token(user)) for user in ("alice", "bob", "carol"))


async def _share(client: httpx.AsyncClient) -> int:
    """alice's list "Home", bob and carol editors of it; its id."""
    home = (await client.post("/api/alice/lists", json={"name": "Home"}, headers=ALICE)).json()
    for user, headers in (("bob", BOB), ("carol", CAROL)):
        url = f"/api/alice/lists/{home['id']}/invitations"
        link = (await client.post(url, json={"role": "editor"}, headers=ALICE)).json()["token"]
        accepted = await client.post(
            f"/api/{user}/invitations/accept", json={"token": link}, headers=headers
        )
        assert accepted.status_code == 200
    return int(home["id"])


async def _now(client: httpx.AsyncClient, user: str, headers) -> dict[str, str]:
    """Where the user's feed is now, to open a stream from (else it starts at the oldest)."""
    return {"since": (await client.get(f"/api/{user}/changes", headers=headers)).json()["next"]}


def test_a_write_to_a_shared_list_reaches_every_members_stream_once(
    start_server: StartServer, database_url: str
) -> None:
    # Across two processes on PostgreSQL (LISTEN/NOTIFY); SQLite serves one process's streams.
    one = start_server(database_url)
    other = start_server(database_url) if TEST_DATABASE_URL is not None else one

    async def run() -> None:
        async with (
            httpx.AsyncClient(base_url=one.url) as writer,
            httpx.AsyncClient(base_url=other.url) as reader,
        ):
            list_id = await _share(writer)
            async with (
                open_stream(
                    reader, "/api/bob/events", headers=BOB, params=await _now(reader, "bob", BOB)
                ) as bobs,
                open_stream(
                    reader,
                    "/api/carol/events",
                    headers=CAROL,
                    params=await _now(reader, "carol", CAROL),
                ) as carols,
            ):
                await bobs.next_comment()
                await carols.next_comment()
                made = await writer.post(
                    "/api/carol/tasks", json={"title": "Milk", "list_id": list_id}, headers=CAROL
                )
                task = made.json()
                for stream in (bobs, carols):
                    event = await stream.next_event(timeout=5)
                    assert (event.event, event.change["task"]) == ("task.created", task)
                    assert await stream.events_within(0.5) == []
                FIGURES["shared events received"] += 2

    asyncio.run(run())


def test_a_removed_members_open_stream_gets_list_left_and_nothing_after(
    start_server: StartServer, database_url: str
) -> None:
    server: Server = start_server(database_url)

    async def run() -> None:
        async with httpx.AsyncClient(base_url=server.url) as client:
            list_id = await _share(client)
            since = await _now(client, "bob", BOB)
            async with open_stream(client, "/api/bob/events", headers=BOB, params=since) as stream:
                await stream.next_comment()
                removed = await client.delete(
                    f"/api/alice/lists/{list_id}/members/bob", headers=ALICE
                )
                assert removed.status_code == 204
                left = await stream.next_event(timeout=5)
                assert (left.event, left.change["list_id"]) == ("list.left", list_id)
                await client.post(
                    "/api/alice/tasks", json={"title": "Secret", "list_id": list_id}, headers=ALICE
                )
                await client.patch(
                    f"/api/alice/lists/{list_id}", json={"name": "Private"}, headers=ALICE
                )
                assert await stream.events_within(1.0) == []

    asyncio.run(run())
