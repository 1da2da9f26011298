"""Guessing passwords: throttled per account and address, with backoff, never a lock-out of the
owner from their own address; counted once for every worker and replica through Redis."""

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.core.test_ratelimit import redis_url  # noqa: F401 (a fixture)
from todo_api.accounts.errors import TooManyAttempts
from todo_api.accounts.throttle import LoginThrottle
from todo_api.core.config import Settings
from todo_api.core.database import open_database
from todo_api.main import create_app

SIGN_UP = "/api/auth/sign-up"
SIGN_IN = "/api/auth/sign-in"
TOKEN = "/api/auth/token"
PASSWORD = "a long enough passphrase"
OWNER = "203.0.113.10"
ATTACKER = "198.51.100.66"
WRONG = {"email": "carol@example.com", "password": "not the password"}
RIGHT = {"email": "carol@example.com", "password": PASSWORD}


class _Peer:
    """Requests to one app as if from one client address."""

    def __init__(self, client: TestClient, address: str) -> None:
        self.client, self.address = client, address
        self.app = client.app

    def post(self, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {}) | {"X-Test-Peer": self.address}
        return self.client.post(path, headers=headers, **kwargs)


def _from_peer_header(app: Any) -> Any:
    """The app, seeing each request come from the address its X-Test-Peer header names."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            peer = dict(scope["headers"]).get(b"x-test-peer")
            if peer is not None:
                scope = dict(scope, client=(peer.decode(), 40000))
        await app(scope, receive, send)

    return asgi


@pytest.fixture
def clients(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., _Peer]]:
    """`clients(address, **settings)`: requests from that address, to one app per settings."""
    opened: dict[str, TestClient] = {}

    def client(address: str, **overrides: object) -> _Peer:
        key = repr(sorted(overrides.items()))
        if key not in opened:
            app = create_app(make_settings(**overrides))
            opened[key] = TestClient(_from_peer_header(app))
            opened[key].__enter__()
        return _Peer(opened[key], address)

    yield client
    for test_client in opened.values():
        test_client.__exit__(None, None, None)


def _sign_up(client: _Peer, email: str = "carol@example.com") -> None:
    response = client.post(SIGN_UP, json={"email": email, "password": PASSWORD, "name": "Carol"})
    assert response.status_code == 201, response.text


def test_an_attacker_s_failures_do_not_lock_the_owner_out_of_their_own_address(clients) -> None:
    owner, attacker = clients(OWNER), clients(ATTACKER)
    _sign_up(owner)
    for _ in range(5):
        assert attacker.post(SIGN_IN, json=WRONG).status_code == 401
    assert attacker.post(SIGN_IN, json=RIGHT).status_code == 429
    assert (
        attacker.post(TOKEN, data={"username": RIGHT["email"], "password": PASSWORD}).status_code
        == 429
    )
    # Renewing the attack keeps the attacker out, never the owner.
    for _ in range(3):
        assert attacker.post(SIGN_IN, json=WRONG).status_code == 429
        assert owner.post(SIGN_IN, json=RIGHT).status_code == 200


def test_the_owner_s_own_failures_lock_only_that_account_from_that_address(clients) -> None:
    owner = clients(OWNER)
    _sign_up(owner)
    _sign_up(owner, "dave@example.com")
    for _ in range(5):
        assert owner.post(SIGN_IN, json=WRONG).status_code == 401
    locked = owner.post(SIGN_IN, json=RIGHT)
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 900
    dave = {"email": "dave@example.com", "password": PASSWORD}
    assert owner.post(SIGN_IN, json=dave).status_code == 200


@pytest.mark.parametrize("counted_in", ["the database", "redis"])
def test_lockouts_back_off_when_the_guessing_goes_on(
    make_settings, counted_in: str, request: pytest.FixtureRequest
) -> None:
    # On the throttle itself: sign-ins take an Argon2 run each, far longer than these windows.
    store = {}
    if counted_in == "redis":
        redis = request.getfixturevalue("redis_url")
        store = {"redis_url": redis, "rate_limit_key_prefix": f"test-{uuid.uuid4().hex}"}
    settings = make_settings(
        login_max_failures_per_account=2, login_failure_window_seconds=1, **store
    )

    async def scenario() -> list[int | None]:
        db = await open_database(settings, migrate=False)
        throttle = LoginThrottle(settings, db)

        async def retry_after() -> int | None:
            try:
                await throttle.check("carol@example.com", ATTACKER)
            except TooManyAttempts as error:
                return error.retry_after
            return None

        try:
            seen = []
            for _ in range(2):
                await throttle.failed("carol@example.com", ATTACKER)
            seen.append(await retry_after())  # 2 failures in 1 s: locked for a second
            await asyncio.sleep(1.1)
            seen.append(await retry_after())  # the first lock is over
            for _ in range(2):
                await throttle.failed("carol@example.com", ATTACKER)
            seen.append(await retry_after())  # 4 in 4 s: locked until the first leaves them
            await asyncio.sleep(1.1)
            seen.append(await retry_after())  # still backed off
            seen.append(await _other_address(throttle))
            return seen
        finally:
            await db.close()

    first, between, second, later, other = asyncio.run(scenario())
    assert first == 1 and between is None
    assert second is not None and second >= 2 and later is not None
    assert other is None


def test_without_redis_workers_share_the_failure_count_through_the_database(clients) -> None:
    # Two apps on one database, as two workers or replicas are: neither counts alone.
    worker_1 = clients(ATTACKER)
    worker_2 = clients(ATTACKER, cors_origins="http://other.example")
    assert worker_1.app is not worker_2.app
    _sign_up(worker_1)
    for worker in (worker_1, worker_2, worker_1, worker_2, worker_1):
        assert worker.post(SIGN_IN, json=WRONG).status_code == 401
    assert worker_2.post(SIGN_IN, json=RIGHT).status_code == 429


def test_a_throttle_that_cannot_count_refuses_rather_than_lets_guesses_through(clients) -> None:
    # Redis configured but not there: no guess is let through uncounted.
    unreachable = clients(ATTACKER, redis_url="redis://127.0.0.1:1/0")
    response = unreachable.post(SIGN_IN, json=WRONG)
    assert response.status_code == 503
    assert response.json() == {"detail": "Signing in is unavailable right now; try again shortly"}
    assert "retry-after" in response.headers


async def _other_address(throttle: LoginThrottle) -> int | None:
    try:
        await throttle.check("carol@example.com", OWNER)
    except TooManyAttempts as error:
        return error.retry_after
    return None


def test_one_address_guessing_many_accounts_is_throttled(clients) -> None:
    sprayer = clients(ATTACKER, login_max_failures_per_ip=3)
    for n in range(3):
        body = {"email": f"guess{n}@example.com", "password": "not the password"}
        assert sprayer.post(SIGN_IN, json=body).status_code == 401
    assert (
        sprayer.post(SIGN_IN, json={"email": "x@example.com", "password": "y"}).status_code == 429
    )
    assert (
        clients(OWNER, login_max_failures_per_ip=3)
        .post(SIGN_IN, json={"email": "x@example.com", "password": "y"})
        .status_code
        == 401
    )


def test_workers_sharing_redis_share_the_failure_count(clients, redis_url: str) -> None:  # noqa: F811
    shared = {"redis_url": redis_url, "rate_limit_key_prefix": f"test-{uuid.uuid4().hex}"}
    worker_1 = clients(ATTACKER, **shared)
    worker_2 = clients(ATTACKER, **shared | {"cors_origins": "http://other.example"})
    assert worker_1.app is not worker_2.app
    _sign_up(worker_1)
    for worker in (worker_1, worker_2, worker_1, worker_2, worker_1):
        assert worker.post(SIGN_IN, json=WRONG).status_code == 401
    assert worker_2.post(SIGN_IN, json=RIGHT).status_code == 429
    assert worker_1.post(SIGN_IN, json=RIGHT).status_code == 429
    assert clients(OWNER, **shared).post(SIGN_IN, json=RIGHT).status_code == 200


def test_successful_sign_ups_are_limited_per_address(clients) -> None:
    limited = {"sign_up_rate_limit": "2/hour"}
    signer = clients(ATTACKER, **limited)
    _sign_up(signer, "one@example.com")
    _sign_up(signer, "two@example.com")
    body = {"email": "three@example.com", "password": PASSWORD, "name": "Three"}
    refused = signer.post(SIGN_UP, json=body)
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many sign-ups from this address; try again later"}
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert clients(OWNER, **limited).post(SIGN_UP, json=body).status_code == 201
