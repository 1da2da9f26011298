"""vdirsyncer and todoman as a user runs them: a list synced to a local folder, todos made,
edited and completed with `todo`, synced back and seen through REST; and the reverse."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.calendars.conftest import Rest, new_password

BIN = Path(sys.executable).parent


@dataclass
class Desk:
    """A user's machine: vdirsyncer's and todoman's configurations in a temporary home."""

    home: Path
    list_name: str

    def run(self, *command: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
        env |= {
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "HOME": str(self.home),
            "TZ": "UTC",
        }
        done = subprocess.run(
            [str(BIN / command[0]), *command[1:]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
        return done.stdout

    def sync(self) -> None:
        self.run("vdirsyncer", "-c", str(self.home / "vdirsyncer"), "sync")

    def todo(self, *arguments: str) -> str:
        return self.run("todo", "-c", str(self.home / "todoman.py"), *arguments)

    def todos(self) -> list[dict]:
        listed = json.loads(self.todo("--porcelain", "list", "--status", "ANY"))
        return sorted(listed, key=lambda t: t["summary"])


@pytest.fixture
def desk(tmp_path: Path, base_url: str, rest: Rest) -> Callable[[str, int], Desk]:
    def make(user: str, list_id: int) -> Desk:
        password = new_password(rest, user)["password"]
        local = tmp_path / "calendars" / "home"
        local.mkdir(parents=True)
        (tmp_path / "vdirsyncer").write_text(
            f"""[general]
status_path = "{tmp_path / "status"}"

[pair home]
a = "home_local"
b = "home_remote"
collections = null

[storage home_local]
type = "filesystem"
path = "{local}"
fileext = ".ics"

[storage home_remote]
type = "caldav"
url = "{base_url}/dav/calendars/{user}/list-{list_id}/"
username = "{user}"
password = "{password}"
item_types = ["VTODO"]
"""
        )
        (tmp_path / "todoman.py").write_text(
            f'path = "{tmp_path / "calendars"}/*"\n'
            'date_format = "%Y-%m-%d"\ntime_format = "%H:%M"\ndefault_list = "home"\n'
            "default_due = 0\n"
        )
        made = Desk(tmp_path, "home")
        made.run("vdirsyncer", "-c", str(tmp_path / "vdirsyncer"), "discover")
        return made

    return make


def tasks_of(rest: Rest, list_id: int) -> dict[str, dict]:
    listed = rest("alice").get("/api/alice/tasks", params={"list_id": list_id}).json()
    return {task["title"]: task for task in listed}


def test_todos_made_edited_and_completed_with_todoman_reach_the_api(
    rest: Rest, desk: Callable[[str, int], Desk]
) -> None:
    home = rest("alice").post("/api/alice/lists", json={"name": "Home"}).json()
    machine = desk("alice", home["id"])
    machine.sync()
    machine.todo(
        "new", "-l", "home", "-d", "2026-12-24", "--priority", "high", "-c", "diy", "Fix the sink"
    )
    machine.todo("new", "-l", "home", "Water the plants")
    machine.sync()
    tasks = tasks_of(rest, home["id"])
    sink = tasks["Fix the sink"]
    assert (sink["due_date"], sink["priority"], sink["tags"]) == ("2026-12-24", "high", ["diy"])
    assert tasks["Water the plants"]["completed"] is False
    ids = {t["summary"]: t["id"] for t in machine.todos()}
    machine.todo("edit", str(ids["Fix the sink"]), "--priority", "low", "-d", "2026-12-31")
    machine.todo("done", str(ids["Water the plants"]))
    machine.sync()
    tasks = tasks_of(rest, home["id"])
    assert (tasks["Fix the sink"]["priority"], tasks["Fix the sink"]["due_date"]) == (
        "low",
        "2026-12-31",
    )
    assert tasks["Water the plants"]["completed"] is True


def test_tasks_made_and_changed_through_rest_reach_todoman(
    rest: Rest, desk: Callable[[str, int], Desk]
) -> None:
    home = rest("alice").post("/api/alice/lists", json={"name": "Home"}).json()
    milk = (
        rest("alice")
        .post(
            "/api/alice/tasks",
            json={
                "title": "Buy milk",
                "list_id": home["id"],
                "due_date": "2026-12-20",
                "priority": "medium",
            },
        )
        .json()
    )
    bread = (
        rest("alice")
        .post("/api/alice/tasks", json={"title": "Buy bread", "list_id": home["id"]})
        .json()
    )
    machine = desk("alice", home["id"])
    machine.sync()
    todos = {t["summary"]: t for t in machine.todos()}
    assert set(todos) == {"Buy milk", "Buy bread"}
    assert todos["Buy milk"]["priority"] == 5
    assert rest("alice").patch(f"/api/alice/tasks/{milk['id']}/complete").status_code == 200
    assert rest("alice").delete(f"/api/alice/tasks/{bread['id']}").status_code == 204
    eggs = {"title": "Buy eggs", "list_id": home["id"]}
    assert rest("alice").post("/api/alice/tasks", json=eggs).status_code == 201
    machine.sync()
    todos = {t["summary"]: t for t in machine.todos()}
    assert set(todos) == {"Buy milk", "Buy eggs"}
    assert todos["Buy milk"]["completed"] is True
