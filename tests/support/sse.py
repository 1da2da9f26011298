"""A small Server-Sent Events client for the system tests: reads a real stream over a socket."""

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx


@dataclass
class Event:
    id: str | None
    event: str | None
    data: str

    @property
    def change(self) -> dict[str, Any]:
        return json.loads(self.data)


@dataclass
class EventStream:
    """An open `GET …/events` response, parsed as it arrives."""

    response: httpx.Response
    comments: list[str] = field(default_factory=list)
    _lines: Any = None
    ended: bool = False

    async def next_event(self, timeout: float = 10.0) -> Event:  # noqa: ASYNC109
        """The next event (comments are collected on the way); TimeoutError if none comes."""
        async with asyncio.timeout(timeout):
            return await self._read_event()

    async def next_comment(self, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        seen = len(self.comments)
        async with asyncio.timeout(timeout):
            while len(self.comments) == seen:
                await self._read_block()
        return self.comments[seen]

    async def events_within(self, seconds: float) -> list[Event]:
        """Every event that arrives in the next `seconds`."""
        events = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    events.append(await self._read_event())
        except TimeoutError:
            pass
        return events

    async def _read_event(self) -> Event:
        while True:
            event = await self._read_block()
            if event is not None:
                return event

    async def _read_block(self) -> Event | None:
        if self._lines is None:
            self._lines = self.response.aiter_lines()
        fields: dict[str, list[str]] = {}
        while True:
            try:
                line = await anext(self._lines)
            except StopAsyncIteration:
                self.ended = True
                raise EOFError("the stream ended") from None
            if line == "":
                if not fields:
                    continue
                if set(fields) == {":"}:
                    self.comments.extend(fields[":"])
                    return None
                return Event(
                    fields.get("id", [None])[-1],
                    fields.get("event", [None])[-1],
                    "\n".join(fields.get("data", [])),
                )
            if line.startswith(":"):
                fields.setdefault(":", []).append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))


class open_stream:
    """`async with open_stream(client, url, headers) as stream:` an EventStream, status 200."""

    def __init__(self, client: httpx.AsyncClient, url: str, **request: Any) -> None:
        self._context = client.stream("GET", url, timeout=httpx.Timeout(30, read=None), **request)

    async def __aenter__(self) -> EventStream:
        response = await self._context.__aenter__()
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"{response.status_code}: {response.text}")
        assert response.headers["content-type"].startswith("text/event-stream")
        return EventStream(response)

    async def __aexit__(self, *exc: object) -> None:
        await self._context.__aexit__(*exc)
