"""The event-stream load: `python -m bench.streams URL TOKEN USER STREAMS [USERS]` (run by
bench/).

Opens STREAMS event streams of USER on one server (or, given USERS, a JSON file of
`[user, token]` pairs, one stream of each), prints `ready` once every one is open, then
notes when each event reaches each stream (wall clock, as the benchmark's own notes when it
sent the write) and prints the arrivals as JSON when it reads `done` on stdin.
Plain asyncio sockets: a few KB per stream, so the client is not what runs out.
"""

import asyncio
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

_TASK_ID = re.compile(rb'"task_id":(\d+)')
_OPEN_AT_ONCE = 200


_writers: list[asyncio.StreamWriter] = []  # a writer that is garbage collected closes its socket


async def _open(host: str, port: int, request: bytes) -> asyncio.StreamReader:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    _writers.append(writer)
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"stream refused: {head[:200]!r}")
    return reader


async def _read(reader: asyncio.StreamReader, arrivals: dict[int, list[float]]) -> None:
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        now = time.time()
        for match in _TASK_ID.finditer(chunk):
            arrivals[int(match.group(1))].append(now)


async def main(url: str, pairs: list[tuple[str, str]]) -> None:
    """One stream for each `(user, token)` of `pairs`."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    def request(user: str, token: str) -> bytes:
        return (
            f"GET /api/{user}/events HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()

    requests = [request(user, token) for user, token in pairs]
    readers: list[asyncio.StreamReader] = []
    for start in range(0, len(requests), _OPEN_AT_ONCE):
        batch = requests[start : start + _OPEN_AT_ONCE]
        readers += await asyncio.gather(*(_open(host, port, one) for one in batch))
    arrivals: dict[int, list[float]] = defaultdict(list)
    tasks = [asyncio.create_task(_read(reader, arrivals)) for reader in readers]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    for task in tasks:
        task.cancel()
    print(json.dumps(arrivals), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 5:
        streams = [tuple(pair) for pair in json.loads(Path(sys.argv[5]).read_text())]
    else:
        streams = [(sys.argv[3], sys.argv[2])] * int(sys.argv[4])
    asyncio.run(main(sys.argv[1], streams))
