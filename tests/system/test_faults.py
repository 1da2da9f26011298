"""Database faults on PostgreSQL: the database dies under a running service, then comes back.

The service runs as a real `todo-api serve` against a PostgreSQL server of the test's own
(never the shared one), which the test crashes (`pg_ctl stop -m immediate`) or shuts down
(`-m fast`) while clients keep writing. What must hold:
- in-flight and new requests get 503 with a detail and `Retry-After`, quickly: never a 500,
  never a hang beyond the configured timeouts;
- once the database is back, the same process serves again, without a restart;
- every write acknowledged with a 2xx, before, during and after the outage, is in the database.
"""

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest

from tests.conftest import bearer, make_token
from tests.system.conftest import (
    FIGURES,
    DisposablePostgres,
    FreezableProxy,
    Server,
    StartServer,
    requires_postgres,
)

pytestmark = requires_postgres

USER = "alice"
TASKS = f"/api/{USER}/tasks"
HEADERS = bearer(make_token(USER))
CONNECT_TIMEOUT = 2.0
STATEMENT_TIMEOUT = 3.0
# A request may wait for one connection attempt and one statement, plus scheduling slack.
RESPONSE_BOUND = CONNECT_TIMEOUT + STATEMENT_TIMEOUT + 2.0
RECOVERY_BOUND = 30.0
WRITERS = 4


@dataclass
class Ledger:
    """Every write a client sent, and what the service answered."""

    created: dict[str, int] = field(default_factory=dict)  # title -> id, acknowledged
    statuses: list[int] = field(default_factory=list)
    # (sent, answered, status) on the monotonic clock, to find the requests the fault hit.
    timeline: list[tuple[float, float, int]] = field(default_factory=list)
    slowest: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, elapsed: float) -> None:
        answered = time.monotonic()
        with self.lock:
            self.statuses.append(status)
            self.timeline.append((answered - elapsed, answered, status))
            self.slowest = max(self.slowest, elapsed)


def _timed(client: httpx.Client, method: str, url: str, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.request(method, url, headers=HEADERS, **kwargs)
    return response, time.monotonic() - started


def _writer(server: Server, name: str, ledger: Ledger, stop: threading.Event) -> None:
    """Create tasks in a loop, noting which ones the service acknowledged."""
    with httpx.Client(base_url=server.url, timeout=RESPONSE_BOUND * 3) as client:
        number = 0
        while not stop.is_set():
            number += 1
            title = f"{name}-{number}"
            response, elapsed = _timed(client, "POST", TASKS, json={"title": title})
            ledger.record(response.status_code, elapsed)
            if response.status_code == 201:
                with ledger.lock:
                    ledger.created[title] = response.json()["id"]
            else:
                time.sleep(0.05)  # a client backing off; keeps the loop from spinning


def _assert_unavailable(response: Any, elapsed: float) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["detail"]
    assert response.headers["Retry-After"].isdigit()
    assert elapsed < RESPONSE_BOUND, f"answered after {elapsed:.1f}s"


async def _stored_tasks(url: str) -> dict[int, dict[str, Any]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT id, title, completed FROM task WHERE user_id = $1", USER
        )
    finally:
        await connection.close()
    return {row["id"]: dict(row) for row in rows}


def _wait_for_recovery(client: httpx.Client) -> float:
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_BOUND:
        response = client.get(TASKS, headers=HEADERS)
        assert response.status_code in {200, 503}, response.text
        if response.status_code == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"the service did not recover within {RECOVERY_BOUND}s")


@pytest.fixture
def service(start_server: StartServer, disposable_postgres: DisposablePostgres) -> Server:
    return start_server(
        disposable_postgres.url,
        db_connect_timeout_seconds=str(CONNECT_TIMEOUT),
        db_statement_timeout_seconds=str(STATEMENT_TIMEOUT),
        db_pool_size="5",
    )


@pytest.mark.parametrize("stop_mode", ["immediate", "fast"], ids=["crash", "shutdown"])
def test_database_outage_gives_503s_then_recovers_without_losing_acknowledged_writes(
    service: Server, disposable_postgres: DisposablePostgres, stop_mode: str
) -> None:
    client = httpx.Client(base_url=service.url, timeout=RESPONSE_BOUND * 3)
    ledger = Ledger()
    expected_completed: dict[int, bool] = {}
    deleted: set[int] = set()

    # Before: create, toggle and delete while all is well.
    before = [client.post(TASKS, json={"title": f"before-{n}"}, headers=HEADERS) for n in range(6)]
    assert [r.status_code for r in before] == [201] * 6
    ids = [r.json()["id"] for r in before]
    expected_completed |= dict.fromkeys(ids, False)
    for task_id in ids[:3]:
        assert client.patch(f"{TASKS}/{task_id}/complete", headers=HEADERS).status_code == 200
        expected_completed[task_id] = True
    assert client.delete(f"{TASKS}/{ids[5]}", headers=HEADERS).status_code == 204
    deleted.add(ids[5])

    # During: writers keep going while the database dies under them.
    stop = threading.Event()
    writers = [
        threading.Thread(target=_writer, args=(service, f"w{n}", ledger, stop))
        for n in range(WRITERS)
    ]
    for thread in writers:
        thread.start()
    try:
        time.sleep(1.0)
        stopping = time.monotonic()
        disposable_postgres.stop(stop_mode)
        stopped = time.monotonic()
        FIGURES["faults injected (PostgreSQL stopped under load)"] += 1
        time.sleep(0.5)

        # New requests of every kind during the outage: 503 with a detail, fast, as declared.
        paths = client.get("/openapi.json").json()["paths"]
        for method, path, body in [
            ("GET", TASKS, None),
            ("POST", TASKS, {"title": "during"}),
            ("GET", f"{TASKS}/{ids[0]}", None),
            ("PUT", f"{TASKS}/{ids[0]}", {"title": "changed during"}),
            ("PATCH", f"{TASKS}/{ids[0]}/complete", None),
            ("DELETE", f"{TASKS}/{ids[1]}", None),
        ]:
            response, elapsed = _timed(client, method, path, json=body)
            _assert_unavailable(response, elapsed)
            template = path.replace(str(ids[0]), "{task_id}").replace(str(ids[1]), "{task_id}")
            template = template.replace(f"/{USER}/", "/{user_id}/")
            assert "503" in paths[template][method.lower()]["responses"], (method, template)
            FIGURES["requests answered 503 during outages"] += 1
        if "/ready" in paths:
            response, elapsed = _timed(client, "GET", "/ready")
            _assert_unavailable(response, elapsed)

        # After: the database comes back; the same process serves again.
        disposable_postgres.start()
        recovery = _wait_for_recovery(client)
        print(f"recovered {recovery:.2f}s after the database restarted")
        if "/ready" in paths:
            assert client.get("/ready").status_code == 200
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=RESPONSE_BOUND * 4)
    assert service.process.poll() is None, "the service exited"

    after = [client.post(TASKS, json={"title": f"after-{n}"}, headers=HEADERS) for n in range(3)]
    assert [r.status_code for r in after] == [201] * 3
    expected_completed |= {r.json()["id"]: False for r in after}
    toggled = client.patch(f"{TASKS}/{after[0].json()['id']}/complete", headers=HEADERS)
    assert toggled.status_code == 200
    expected_completed[after[0].json()["id"]] = True
    client.close()

    # Requests sent before the database was gone, answered after it began to go: in flight.
    in_flight = [
        status
        for sent, answered, status in ledger.timeline
        if sent < stopped and answered > stopping
    ]
    assert in_flight, "no request was in flight when the database stopped"
    FIGURES["requests in flight when the database stopped"] += len(in_flight)
    print(f"in flight at the stop: {len(in_flight)}, answered {sorted(set(in_flight))}")

    # Clients only ever saw acknowledgements or 503s, each within the bound.
    assert set(ledger.statuses) <= {201, 503}, sorted(set(ledger.statuses))
    assert 503 in ledger.statuses, "the writers never met the outage"
    assert ledger.slowest < RESPONSE_BOUND, f"slowest write took {ledger.slowest:.1f}s"

    # Every acknowledged write is stored, exactly as acknowledged.
    stored = asyncio.run(_stored_tasks(disposable_postgres.url))
    for title, task_id in ledger.created.items():
        assert task_id in stored, f"acknowledged task {title} ({task_id}) is lost"
        assert stored[task_id]["title"] == title
    for task_id, completed in expected_completed.items():
        if task_id in deleted:
            assert task_id not in stored
        else:
            assert stored[task_id]["completed"] is completed, task_id
    FIGURES["acknowledged writes verified after outages"] += len(ledger.created) + len(
        expected_completed
    )


def test_database_that_stops_answering_gives_503s_within_the_timeouts(
    start_server: StartServer, freezable_proxy: FreezableProxy, database_url: str
) -> None:
    """A partition, not a crash: connections stay open and nothing answers on them."""
    service = start_server(
        freezable_proxy.url,
        db_connect_timeout_seconds=str(CONNECT_TIMEOUT),
        db_statement_timeout_seconds=str(STATEMENT_TIMEOUT),
        db_pool_size="2",
    )
    client = httpx.Client(base_url=service.url, timeout=RESPONSE_BOUND * 4)
    before = [client.post(TASKS, json={"title": f"before-{n}"}, headers=HEADERS) for n in range(3)]
    assert [r.status_code for r in before] == [201] * 3

    freezable_proxy.freeze()
    FIGURES["faults injected (database network frozen)"] += 1
    # More requests at once than the pool has connections: queued ones must not wait forever.
    results: list[tuple[Any, float]] = []
    lock = threading.Lock()

    def call(method: str, body: dict[str, str] | None) -> None:
        with httpx.Client(base_url=service.url, timeout=RESPONSE_BOUND * 4) as own:
            outcome = _timed(own, method, TASKS, json=body)
        with lock:
            results.append(outcome)

    callers = [
        threading.Thread(
            target=call, args=("POST", {"title": f"frozen-{n}"}) if n % 2 else ("GET", None)
        )
        for n in range(8)
    ]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    print("frozen:", [(r.status_code, round(t, 2)) for r, t in results])
    for response, elapsed in results:
        _assert_unavailable(response, elapsed)
        FIGURES["requests answered 503 during outages"] += 1

    freezable_proxy.thaw()
    print(f"recovered {_wait_for_recovery(client):.2f}s after the network came back")
    after = [client.post(TASKS, json={"title": f"after-{n}"}, headers=HEADERS) for n in range(3)]
    assert [r.status_code for r in after] == [201] * 3
    client.close()
    assert service.process.poll() is None

    stored = asyncio.run(_stored_tasks(database_url))
    for response in before + after:
        task = response.json()
        assert stored[task["id"]]["title"] == task["title"]
    FIGURES["acknowledged writes verified after outages"] += len(before) + len(after)
