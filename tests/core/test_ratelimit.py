"""Rate limits per user and per client address, in memory and shared through Redis."""

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query
from todo_api.core.config import Settings
from todo_api.main import create_app

# CI exports TEST_REDIS_URL and starts Redis: there, an unreachable Redis fails the tests.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    if "TEST_REDIS_URL" not in os.environ and not _redis_reachable():
        pytest.skip("Redis is not running on 127.0.0.1:6379 (CI starts it)")
    return REDIS_URL


@pytest.fixture
def limited(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """Start apps with the given settings; all are stopped after the test."""
    clients: list[TestClient] = []

    def start(**overrides: object) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def _assert_limited(response, who: str) -> None:
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert response.json() == {"detail": f"Too many requests {who}; retry in {retry_after} s"}


def test_a_user_over_their_limit_gets_429_and_others_do_not(
    limited: Callable[..., TestClient], alice: Headers, bob: Headers
) -> None:
    client = limited(rate_limit_per_user="3/minute")
    statuses = [client.get("/api/alice/tasks", headers=alice).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    _assert_limited(client.get("/api/alice/tasks", headers=alice), "for this user")
    _assert_limited(
        client.post("/api/alice/tasks", json={"title": "x"}, headers=alice), "for this user"
    )
    assert client.get("/api/bob/tasks", headers=bob).status_code == 200


def test_a_rate_limited_create_stores_nothing(
    limited: Callable[..., TestClient], alice: Headers
) -> None:
    client = limited(rate_limit_per_user="1/minute")
    assert client.post("/api/alice/tasks", json={"title": "a"}, headers=alice).status_code == 201
    assert client.post("/api/alice/tasks", json={"title": "b"}, headers=alice).status_code == 429
    assert query(client, "SELECT title FROM task ORDER BY id") == [{"title": "a"}]


def test_an_address_over_its_limit_gets_429_even_without_a_token(
    limited: Callable[..., TestClient],
) -> None:
    client = limited(rate_limit_per_ip="2/minute")
    assert [client.get("/").status_code for _ in range(2)] == [200, 200]
    _assert_limited(client.get("/api/alice/tasks"), "from this address")
    # Probes keep working: an orchestrator must not restart a busy service.
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200


def test_rate_limits_can_be_switched_off(
    limited: Callable[..., TestClient], alice: Headers
) -> None:
    client = limited(
        rate_limit_enabled=False, rate_limit_per_user="1/minute", rate_limit_per_ip="1/minute"
    )
    assert {client.get("/api/alice/tasks", headers=alice).status_code for _ in range(5)} == {200}


def test_invalid_rate_limit_settings_are_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="not a rate limit"):
        make_settings(rate_limit_per_user="lots")


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, its keys deleted afterwards."""
    name = f"todo-api-test-{uuid.uuid4().hex}"
    yield name

    async def clean() -> None:
        import coredis

        redis = coredis.Redis.from_url(redis_url)
        keys = [key async for key in redis.scan_iter(match=f"{name}*")]
        if keys:
            await redis.delete(keys)

    asyncio.run(clean())


def test_replicas_share_one_limit_through_redis(
    limited: Callable[..., TestClient], redis_url: str, prefix: str, alice: Headers
) -> None:
    settings = {
        "redis_url": redis_url,
        "rate_limit_key_prefix": prefix,
        "rate_limit_per_user": "4/minute",
    }
    first, second = limited(**settings), limited(**settings)
    statuses = [
        replica.get("/api/alice/tasks", headers=alice).status_code
        for replica in (first, second, first, second)
    ]
    assert statuses == [200] * 4
    _assert_limited(second.get("/api/alice/tasks", headers=alice), "for this user")
    _assert_limited(first.get("/api/alice/tasks", headers=alice), "for this user")


def test_an_unreachable_redis_lets_requests_through_and_says_so(
    limited: Callable[..., TestClient], alice: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    client = limited(redis_url=f"redis://127.0.0.1:{closed_port}/0", rate_limit_per_user="1/minute")
    with caplog.at_level(logging.WARNING, logger="todo_api.core.ratelimit"):
        statuses = [client.get("/api/alice/tasks", headers=alice).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert "Rate limiting is off while its storage fails" in caplog.text
