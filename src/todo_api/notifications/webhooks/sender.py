"""Sending one signed request to a webhook's receiver, as the Standard Webhooks specification
says, and what came of it.

Deliveries and verifications go out the same way: on the guarded client (`addresses.py`), with
no redirects, within the timeout as a whole (a receiver that trickles its answer is cut off as
one that never answers), the answer's body read only when it is asked for, and at most
`MAX_ANSWER_BYTES` of it. What went wrong is told in a few fixed words: the receiver's user
chose its URL, and a detailed network error would tell them what the service's network holds
(which names resolve, which ports are open).
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import orjson
from standardwebhooks.webhooks import Webhook as Signer

from todo_api.core.clock import utcnow
from todo_api.notifications.webhooks.addresses import UnsafeAddress, webhook_client

# A receiver's answer is its status code; a verification's, a short JSON body.
MAX_ANSWER_BYTES = 4096


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for `body`, signed now."""
    now = utcnow()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, now, body),
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request got: the status code, the answer's body (when asked for), or the
    reason there was none (`error`, fixed words)."""

    status_code: int | None = None
    body: bytes = b""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the receiver took it (2xx)."""
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    def failure(self) -> str | None:
        """Why the request did not succeed, for the attempt's record; None if it did."""
        if self.error is not None:
            return self.error
        if self.status_code is not None and 300 <= self.status_code < 400:
            return f"HTTP {self.status_code} (redirects are not followed)"
        if not self.ok:
            return f"HTTP {self.status_code}"
        return None


def _refused_address(error: BaseException) -> UnsafeAddress | None:
    """The guard's refusal behind a failed connection, if that is what it was."""
    cause: BaseException | None = error
    for _ in range(8):  # a chain is a few links long (and may loop)
        if cause is None or isinstance(cause, UnsafeAddress):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


class WebhookSender:
    """Sends signed requests to receivers (one client, its connections kept between them)."""

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self.timeout = timeout
        self._client = webhook_client(timeout=timeout, allow_private=allow_private)

    async def send(
        self,
        url: str,
        secret: str,
        message_id: str,
        payload: dict[str, Any],
        *,
        read_answer: bool = False,
    ) -> Outcome:
        """POST `payload` (JSON) to `url`, signed with `secret`; never raises for a receiver's
        failure, whatever it is."""
        body = orjson.dumps(payload).decode()
        headers = signed_headers(secret, message_id, body)
        headers |= {"content-type": "application/json", "user-agent": "todo-api-webhooks"}
        try:
            async with asyncio.timeout(self.timeout):
                return await self._post(url, body, headers, read_answer)
        except TimeoutError:
            return Outcome(error=f"no answer within {self.timeout:g} s")
        except httpx.InvalidURL:
            return Outcome(error="the URL cannot be requested")
        except (httpx.HTTPError, OSError, ValueError) as error:
            if (refused := _refused_address(error)) is not None:
                return Outcome(error=str(refused))
            return Outcome(error="the connection failed")

    async def _post(
        self, url: str, body: str, headers: dict[str, str], read_answer: bool
    ) -> Outcome:
        async with self._client.stream("POST", url, content=body, headers=headers) as response:
            answer = bytearray()
            if read_answer:
                async for chunk in response.aiter_bytes():
                    answer += chunk
                    if len(answer) > MAX_ANSWER_BYTES:
                        return Outcome(response.status_code, error="the answer is too long")
            return Outcome(response.status_code, bytes(answer))

    async def close(self) -> None:
        """Close the connections to receivers."""
        await self._client.aclose()
