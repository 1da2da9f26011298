"""A webhook receiver for the benchmarks: it checks every signature, answers the verification
challenge as a receiver that wants the events does, and records when each change arrived.

Each webhook posts to a path of its own (`url(name)`), whose secret is registered once the
create has returned it (`accept`); the benchmark then asks the service to verify the webhook.
A path may be slow (`delay`): its change requests are answered only after that many seconds.
"""

import asyncio
import contextlib
import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2 as httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    """Records, per path, when each verified change arrived, by task id (the first arrival)."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.delays: dict[str, float] = {}
        self.arrived: dict[str, dict[int, float]] = defaultdict(dict)
        self.invalid = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                secret = receiver.secrets.get(self.path)
                change = None
                if secret is not None:
                    with contextlib.suppress(WebhookVerificationError):
                        change = Webhook(secret).verify(body, dict(self.headers.items()))
                if change is None:
                    # The create's own challenge comes before its answer names the secret.
                    with receiver.lock:
                        receiver.invalid += secret is not None
                    self._answer(400, b"")
                elif change["type"] == "webhook.verify":
                    echo = {"challenge": change["data"]["challenge"]}
                    self._answer(200, json.dumps(echo).encode())
                else:
                    with receiver.lock:
                        receiver.arrived[self.path].setdefault(change["task_id"], now)
                    time.sleep(receiver.delays.get(self.path, 0.0))
                    self._answer(204, b"")

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # a slow path's caller gave up waiting
                    pass

            def log_message(self, *_args: Any) -> None:
                pass

        ThreadingHTTPServer.request_queue_size = 256
        ThreadingHTTPServer.daemon_threads = True
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def url(self, name: str) -> str:
        return f"{self.base}/hook/{name}"

    def accept(self, name: str, secret: str, *, delay: float = 0.0) -> None:
        """Check `name`'s requests with `secret`; answer its changes after `delay` seconds."""
        self.secrets[f"/hook/{name}"] = secret
        self.delays[f"/hook/{name}"] = delay

    def arrivals(self, name: str) -> dict[int, float]:
        with self.lock:
            return dict(self.arrived[f"/hook/{name}"])

    async def wait_for(self, name: str, count: int, seconds: float) -> dict[int, float]:
        """`name`'s arrivals once there are `count`, or after `seconds`."""
        deadline = time.time() + seconds
        # Arrivals are recorded by the server's threads: polled, not awaited.
        while len(self.arrivals(name)) < count and time.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return self.arrivals(name)

    def stop(self) -> None:
        self.server.shutdown()


async def add_webhook(
    client: httpx.AsyncClient,
    receiver: Receiver,
    base: str,
    user_id: str,
    headers: dict[str, str],
    name: str,
    events: list[str],
    *,
    delay: float = 0.0,
) -> None:
    """Create a webhook of `user_id` to the receiver's path `name`, and have it verified."""
    created = await client.post(
        f"{base}/api/{user_id}/webhooks",
        json={"url": receiver.url(name), "events": events},
        headers=headers,
    )
    created.raise_for_status()
    hook = created.json()
    receiver.accept(name, hook["secret"], delay=delay)
    verified = await client.post(
        f"{base}/api/{user_id}/webhooks/{hook['id']}/verify", headers=headers
    )
    verified.raise_for_status()
    if not verified.json()["verified"]:
        raise SystemExit(f"webhook {name} was not verified: {verified.json()}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
