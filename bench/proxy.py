"""A TCP proxy in front of PostgreSQL that delays every chunk and counts round trips.

Between a server and PostgreSQL it plays the network to a database elsewhere (Neon, from the
same region: about 1 ms each way): every chunk waits `delay` seconds before it is passed on, in
either direction, in order. It counts the chunks clients send: a driver sends a statement (or a
BEGIN, or a COMMIT) as one write and waits for the answer, so each is one round trip.

Runs on its own event loop, in a thread of the benchmark's process.
"""

import asyncio
import contextlib
import socket
import threading

_CHUNK = 1 << 16


class DelayingProxy:
    """Listens on 127.0.0.1:`port` and forwards to `target` once started."""

    def __init__(self, target: tuple[str, int], delay_seconds: float = 0.0) -> None:
        self.target = target
        self.delay = delay_seconds
        self.sent = 0  # chunks clients sent the server: round trips
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "DelayingProxy":
        self._thread.start()
        self._ready.wait(10)
        return self

    def url(self, database_url: str) -> str:
        """`database_url` (on the target) through this proxy."""
        host, port = self.target
        return database_url.replace(f"{host}:{port}", f"127.0.0.1:{self.port}", 1)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter):
        try:
            server_in, server_out = await asyncio.open_connection(*self.target)
        except OSError:
            client_out.close()
            return
        await asyncio.gather(
            self._pipe(client_in, server_out, counted=True),
            self._pipe(server_in, client_out, counted=False),
        )

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, counted: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while chunk := await source.read(_CHUNK):
                if counted:
                    self.sent += 1
                if self.delay:
                    # A constant delay keeps the chunks in order.
                    loop.call_later(self.delay, sink.write, chunk)
                else:
                    sink.write(chunk)
                    await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if self.delay:
                await asyncio.sleep(self.delay)
            with contextlib.suppress(Exception):
                sink.close()
