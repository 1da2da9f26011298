"""A real webhook receiver on 127.0.0.1: verifies every request with `standardwebhooks`."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    verified: Any | None  # the JSON payload when the signature checked out, else None
    at: float  # time.time() on arrival
    answered: int


@dataclass
class Receiver:
    """Answers each request with the next of `statuses` (200 once they run out), after the
    next of `delays` (else `delay`) seconds; a webhook's verification (`webhook.verify`) at once,
    echoing its challenge as a receiver that wants the events does (unless `echoes` is off).
    Verifications are kept apart, in `challenges`."""

    url: str = ""
    echoes: bool = True
    challenges: list[dict[str, Any]] = field(default_factory=list)
    last_challenge_body: bytes = b""
    last_challenge_headers: dict[str, str] = field(default_factory=dict)
    secret: str | None = None
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    delays: list[float] = field(default_factory=list)  # per request, before `delay` applies
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, body: bytes, headers: dict[str, str]) -> Any | None:
        if self.secret is None:
            return None
        try:
            return Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            return None

    @property
    def delivered(self) -> list[Any]:
        """The verified payloads the receiver accepted (answered 2xx)."""
        with self.lock:
            return [r.verified for r in self.requests if 200 <= r.answered < 300 and r.verified]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Block until `count` requests arrived (fail after `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        pytest.fail(f"the receiver got {len(self.requests)} requests, expected {count}")


def serve_receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            if state.echoes and self._answered_challenge(body, headers):
                return
            with state.lock:
                delay = state.delays.pop(0) if state.delays else state.delay
            time.sleep(delay)
            with state.lock:
                answer = state.statuses.pop(0) if state.statuses else 200
                state.requests.append(
                    Received(headers, body, state.verify(body, headers), arrived, answer)
                )
            self.send_response(answer)
            if 300 <= answer < 400:
                self.send_header("Location", state.url + "/redirected")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def _answered_challenge(self, body: bytes, headers: dict[str, str]) -> bool:
            try:
                payload = json.loads(body)
            except ValueError:
                return False
            if not isinstance(payload, dict) or payload.get("type") != "webhook.verify":
                return False
            with state.lock:
                state.challenges.append(payload)
                state.last_challenge_body, state.last_challenge_headers = body, headers
            answer = json.dumps({"challenge": payload["data"]["challenge"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return True

        def log_message(self, *_args: Any) -> None:
            pass

    ThreadingHTTPServer.request_queue_size = 128  # bursts of concurrent deliveries
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def payloads(receiver: Receiver) -> list[dict[str, Any]]:
    """Every body the receiver got, as JSON."""
    return [json.loads(r.body) for r in receiver.requests]
