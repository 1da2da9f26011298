"""Manual order and moves: `POST …/tasks/{id}/move`, `sort=position`, lists and the Inbox."""

import threading

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import TEST_DATABASE_URL, Headers, part
from todo_api.core import positions
from todo_api.core.database import Store
from todo_api.tasks import moves, repository, service
from todo_api.tasks.lists import repository as lists
from todo_api.tasks.schemas import TaskMove

TASKS = "/api/alice/tasks"
# Sessions of this test's database waiting for a lock (other workers' tests use others).
WAITING = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


def titles(client: TestClient, headers: Headers, **params) -> list[str]:
    params = {"sort": "position", "parent_id": "none"} | params
    response = client.get(TASKS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


def move(client: TestClient, headers: Headers, task: dict, **body) -> dict:
    response = client.post(f"{TASKS}/{task['id']}/move", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def abc(create_task) -> dict[str, dict]:
    return {name: create_task(name) for name in "ABC"}


@pytest.fixture(params=["inbox", "list"])
def home(request: pytest.FixtureRequest, client: TestClient, alice: Headers) -> dict:
    """Where a test's tasks are made: the Inbox (whose moves hold the user alone), or a list
    (whose moves hold it for share): `create_task`'s fields."""
    if request.param == "inbox":
        return {}
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    return {"list_id": work["id"]}


def test_new_tasks_go_last_in_position_order(client: TestClient, alice: Headers, abc) -> None:
    assert titles(client, alice) == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("spot", "expected"),
    [
        ({}, ["C", "A", "B"]),
        ({"after_id": "A"}, ["A", "C", "B"]),
        ({"before_id": "A"}, ["C", "A", "B"]),
        ({"after_id": "B"}, ["A", "B", "C"]),
    ],
)
def test_a_move_puts_the_task_where_it_is_asked(
    client: TestClient, alice: Headers, create_task, home, spot, expected
) -> None:
    abc = {name: create_task(name, **home) for name in "ABC"}
    body = {field: abc[name]["id"] for field, name in spot.items()}
    moved = move(client, alice, abc["C"], **body)
    assert titles(client, alice) == expected
    assert moved["version"] == abc["C"]["version"] + 1


def test_a_move_writes_only_the_moved_task(client: TestClient, alice: Headers, abc) -> None:
    move(client, alice, abc["C"], after_id=abc["A"]["id"])
    for name in "AB":
        assert client.get(f"{TASKS}/{abc[name]['id']}", headers=alice).json()["version"] == 1


def test_moving_to_a_list_takes_the_subtasks_along(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    create_task("Already there", list_id=work["id"])
    top = create_task("Plan")
    child = create_task("Step", parent_id=top["id"])
    moved = move(client, alice, top, list_id=work["id"])
    assert (moved["list_id"], moved["parent_id"]) == (work["id"], None)
    assert client.get(f"{TASKS}/{child['id']}", headers=alice).json()["list_id"] == work["id"]
    assert titles(client, alice, list_id=work["id"]) == ["Plan", "Already there"]  # first
    assert titles(client, alice, list_id="inbox") == []
    back = move(client, alice, moved, list_id=None)
    assert back["list_id"] is None
    assert client.get(f"{TASKS}/{child['id']}", headers=alice).json()["list_id"] is None


def test_patching_list_id_moves_the_task_last_there(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    create_task("First", list_id=work["id"])
    task = create_task("Moved", priority="high")
    response = client.patch(
        f"{TASKS}/{task['id']}", json={"list_id": work["id"], "title": "Moved!"}, headers=alice
    )
    assert response.status_code == 200
    assert (response.json()["list_id"], response.json()["title"]) == (work["id"], "Moved!")
    assert titles(client, alice, list_id=work["id"]) == ["First", "Moved!"]


def test_moving_under_a_parent_puts_it_in_the_parents_list(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    parent = create_task("Plan", list_id=work["id"])
    task = create_task("Loose")
    moved = move(client, alice, task, parent_id=parent["id"])
    assert (moved["list_id"], moved["parent_id"]) == (work["id"], parent["id"])
    assert client.get(f"{TASKS}/{parent['id']}", headers=alice).json()["subtask_count"] == 1
    out = move(client, alice, moved, parent_id=None)
    assert (out["list_id"], out["parent_id"]) == (work["id"], None)
    assert client.get(f"{TASKS}/{parent['id']}", headers=alice).json()["subtask_count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"after_id": 1, "before_id": 2},
        {"after_id": "2"},
        {"after_id": 0},
        {"list_id": 2**31},
        {"position": "a0"},
    ],
)
def test_a_malformed_move_is_422(client: TestClient, alice: Headers, abc, body) -> None:
    response = client.post(f"{TASKS}/{abc['A']['id']}/move", json=body, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_a_neighbour_under_another_parent_is_422(
    client: TestClient, alice: Headers, abc, create_task
) -> None:
    sub = create_task("Sub", parent_id=abc["B"]["id"])
    body = {"after_id": sub["id"]}
    response = client.post(f"{TASKS}/{abc['A']['id']}/move", json=body, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "after_id"]


@pytest.mark.parametrize("field", ["after_id", "before_id"])
def test_moving_next_to_itself_leaves_the_task_where_it_is(
    client: TestClient, alice: Headers, abc, field
) -> None:
    b = abc["B"]
    response = client.post(f"{TASKS}/{b['id']}/move", json={field: b["id"]}, headers=alice)
    assert response.status_code == 200, response.text
    assert (response.json()["position"], response.json()["version"]) == (b["position"], 1)
    assert titles(client, alice) == ["A", "B", "C"]


def test_another_users_task_list_or_neighbour_is_404(
    client: TestClient, alice: Headers, bob: Headers, abc
) -> None:
    bobs = client.post("/api/bob/tasks", json={"title": "Bob's"}, headers=bob).json()
    bobs_list = client.post("/api/bob/lists", json={"name": "Bob's"}, headers=bob).json()
    url = f"{TASKS}/{abc['A']['id']}/move"
    assert client.post(url, json={"after_id": bobs["id"]}, headers=alice).status_code == 404
    assert client.post(url, json={"parent_id": bobs["id"]}, headers=alice).status_code == 404
    assert client.post(url, json={"list_id": bobs_list["id"]}, headers=alice).status_code == 404
    bob_moves = client.post(f"/api/bob/tasks/{abc['A']['id']}/move", json={}, headers=bob)
    assert bob_moves.status_code == 404
    assert titles(client, alice) == ["A", "B", "C"]


def test_position_pages_follow_the_manual_order(
    client: TestClient, alice: Headers, create_task
) -> None:
    tasks = [create_task(f"T{n}") for n in range(5)]
    move(client, alice, tasks[4])  # first
    seen, url = [], f"{TASKS}?sort=position&limit=2"
    while url:
        response = client.get(url, headers=alice)
        seen += [task["title"] for task in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen == ["T4", "T0", "T1", "T2", "T3"]


def test_the_change_log_replays_every_tasks_place(
    client: TestClient, alice: Headers, abc, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    child = create_task("Sub", parent_id=abc["A"]["id"])
    move(client, alice, abc["A"], list_id=work["id"])
    move(client, alice, abc["C"], after_id=abc["B"]["id"])
    replayed: dict[int, dict] = {}
    for change in client.get("/api/alice/changes?limit=1000", headers=alice).json()["changes"]:
        if change["type"].startswith("task."):
            replayed[change["task_id"]] = change["task"]
    for task in client.get(TASKS, headers=alice).json():
        shown = replayed[task["id"]]
        place = ("list_id", "parent_id", "position")
        assert {k: shown[k] for k in place} == {k: task[k] for k in place}
    assert replayed[child["id"]]["list_id"] == work["id"]


def test_many_moves_to_one_spot_respace_and_log_the_neighbours(
    client: TestClient, alice: Headers, create_task, home
) -> None:
    anchor = create_task("Anchor", **home)
    create_task("Last", **home)
    for number in range(150):
        task = create_task(f"N{number}", **home)
        move(client, alice, task, after_id=anchor["id"])
    listed = client.get(TASKS, params={"sort": "position", "limit": 1000}, headers=alice).json()
    assert [t["title"] for t in listed] == [
        "Anchor",
        *(f"N{n}" for n in reversed(range(150))),
        "Last",
    ]
    assert max(len(t["position"]) for t in listed) <= positions.RESPACE_BEYOND
    # Respaced neighbours were written (their versions moved) and logged like any write.
    respaced = [t for t in listed if t["title"].startswith("N") and t["version"] > 2]
    assert respaced
    logged = client.get("/api/alice/changes?limit=1000", headers=alice).json()["changes"]
    final = {c["task_id"]: c["task"]["position"] for c in logged if c.get("task")}
    assert all(final[t["id"]] == t["position"] for t in listed)


def test_concurrent_moves_to_one_spot_never_share_a_position(
    client: TestClient, alice: Headers, create_task, home
) -> None:
    anchor = create_task("Anchor", **home)
    create_task("Next", **home)
    movers = [create_task(f"M{n}", **home) for n in range(8)]
    errors: list[str] = []

    def go(task: dict) -> None:
        response = client.post(
            f"{TASKS}/{task['id']}/move", json={"after_id": anchor["id"]}, headers=alice
        )
        if response.status_code != 200:
            errors.append(response.text)

    threads = [threading.Thread(target=go, args=(task,)) for task in movers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    listed = client.get(TASKS, params={"sort": "position"}, headers=alice).json()
    keys = [task["position"] for task in listed]
    assert len(set(keys)) == len(keys) == 10
    assert listed[0]["title"] == "Anchor" and listed[-1]["title"] == "Next"


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="SQLite takes one write at a time")
def test_a_move_in_a_list_goes_on_beside_another_and_takes_another_position(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    a, b, c = (create_task(name, list_id=work["id"]) for name in "ABC")
    store = part(client, Store)

    async def both() -> tuple[dict, dict]:
        rows = [await repository.get(store.db, "alice", task["id"]) for task in (b, c)]
        assert rows[0] is not None and rows[1] is not None
        async with store.write() as uow:
            # C to the top, its transaction still open: B to the top too, reading the same top.
            first = await moves.relocate(
                uow, rows[1], (work["id"], None), moves.Spot(), alone=False
            )
            with anyio.fail_after(10):
                second = await service.move_task(store, rows[0], TaskMove())
        return dict(first), dict(second)

    first, second = client.portal.call(both)
    assert first["position"] != second["position"]
    assert titles(client, alice, list_id=work["id"])[2] == "A"
    assert a["position"] > max(first["position"], second["position"])


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="SQLite takes one write at a time")
def test_a_move_that_waited_for_its_list_reads_the_spot_as_the_write_before_left_it(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    create_task("A", list_id=work["id"])
    b, x = (create_task(name, list_id=work["id"]) for name in "BX")
    store = part(client, Store)
    waiting = text(WAITING)

    async def both() -> None:
        rows = [await repository.get(store.db, "alice", task["id"]) for task in (b, x)]
        assert rows[0] is not None and rows[1] is not None
        async with anyio.create_task_group() as group, store.write() as uow:
            # X to the top, holding the list alone: B's move to the top waits for it.
            await moves.relocate(uow, rows[1], (work["id"], None), moves.Spot())
            group.start_soon(service.move_task, store, rows[0], TaskMove())
            with anyio.fail_after(10):
                while True:  # until B's move waits
                    if await store.db.scalar(waiting):
                        break
                    await anyio.sleep(0.01)

    client.portal.call(both)
    assert titles(client, alice, list_id=work["id"]) == ["B", "X", "A"]


@pytest.mark.skipif(TEST_DATABASE_URL is None, reason="SQLite takes one write at a time")
def test_an_edit_moving_a_task_into_a_held_list_waits_without_holding_the_task(
    client: TestClient, alice: Headers, create_task
) -> None:
    # Every write holds a list before its tasks: an edit that held the task while it waited
    # for the list would deadlock with a write that holds the list and then wants the task.
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    task = create_task("Inbox task")
    store = part(client, Store)
    waiting = text(WAITING)
    take_task = text("SELECT id FROM task WHERE id = :id FOR UPDATE NOWAIT")

    async def both() -> int:
        row = await repository.get(store.db, "alice", task["id"])
        assert row is not None
        async with anyio.create_task_group() as group, store.write() as uow:
            await lists.lock(uow.db, "alice", work["id"])
            group.start_soon(
                service.update_task, store, row, {"list_id": work["id"]}, task["version"]
            )
            with anyio.fail_after(10):
                while True:  # until the edit waits
                    if await store.db.scalar(waiting):
                        break
                    await anyio.sleep(0.01)
            # The list's holder can still take the task: the waiting edit holds nothing of it.
            return await uow.db.scalar(take_task, {"id": task["id"]})

    assert client.portal.call(both) == task["id"]
    moved = client.get(f"{TASKS}/{task['id']}", headers=alice).json()
    assert moved["list_id"] == work["id"] and moved["version"] == task["version"] + 1


def test_an_edit_moving_a_task_with_a_stale_version_is_refused_and_moves_nothing(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    task = create_task("Inbox task")
    old = client.get(f"{TASKS}/{task['id']}", headers=alice).headers["etag"]
    client.patch(f"{TASKS}/{task['id']}", json={"title": "Renamed"}, headers=alice)
    stale = {"If-Match": old} | alice
    response = client.patch(f"{TASKS}/{task['id']}", json={"list_id": work["id"]}, headers=stale)
    assert response.status_code == 412, response.text
    assert client.get(f"{TASKS}/{task['id']}", headers=alice).json()["list_id"] is None


def test_the_prebuilt_list_order_page_is_what_the_general_listing_gives(
    client: TestClient, alice: Headers, create_task
) -> None:
    work = client.post("/api/alice/lists", json={"name": "Work"}, headers=alice).json()
    tasks = [create_task(f"T{n}", list_id=work["id"], completed=n % 3 == 0) for n in range(7)]
    create_task("Sub", parent_id=tasks[2]["id"])
    move(client, alice, tasks[5], after_id=tasks[0]["id"])
    counts = []
    for params in (
        {"list_id": work["id"]},
        {"list_id": work["id"], "parent_id": "none", "status": "pending"},
        {"list_id": "inbox"},
    ):
        fast, general = [], []
        # `overdue=false` keeps every task here, and takes the general (per-request) query.
        for pages, extra in ((fast, {}), (general, {"overdue": "false"})):
            url = TASKS
            query = {"sort": "position", "limit": 2} | params | extra
            while url:
                response = client.get(url, params=query, headers=alice)
                pages += response.json()
                url, query = response.links.get("next", {}).get("url"), None
        assert [t["id"] for t in fast] == [t["id"] for t in general], params
        counts.append(len(fast))
    assert counts == [8, 4, 0]
