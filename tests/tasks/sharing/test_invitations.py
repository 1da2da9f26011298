"""Invitations: a link with a role, shown once, stored as a digest, and accepted once."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, query
from tests.tasks.sharing.conftest import accept, invite

MISSING = "Invitation not found, expired or used up"


@pytest.fixture
def home_list(client: TestClient, alice: Headers) -> dict:
    return client.post("/api/alice/lists", json={"name": "Home"}, headers=alice).json()


def test_an_invitation_shows_its_token_once_and_stores_only_its_digest(
    client: TestClient, alice: Headers, home_list
) -> None:
    made = invite(client, home_list["id"], "editor", expires_in_hours=1.5, max_uses=3)
    assert set(made) == {"id", "token", "role", "expires_at", "uses_left"}
    assert (made["role"], made["uses_left"]) == ("editor", 3)
    expires = datetime.fromisoformat(made["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=1.5))) < timedelta(minutes=1)
    listed = client.get(f"/api/alice/lists/{home_list['id']}/invitations", headers=alice).json()
    assert listed == [{k: v for k, v in made.items() if k != "token"}]
    stored = query(client, "SELECT digest FROM list_invitation")
    assert stored == [{"digest": hashlib.sha256(made["token"].encode()).hexdigest()}]
    assert made["token"] not in str(query(client, "SELECT * FROM list_invitation"))


@pytest.mark.parametrize(
    "body",
    [
        {"role": "owner"},
        {"role": "admin"},
        {"role": "editor", "expires_in_hours": 0},
        {"role": "editor", "expires_in_hours": 721},
        {"role": "editor", "max_uses": 0},
        {},
    ],
)
def test_a_bad_invitation_is_422(client: TestClient, alice: Headers, home_list, body) -> None:
    response = client.post(
        f"/api/alice/lists/{home_list['id']}/invitations", json=body, headers=alice
    )
    assert response.status_code == 422
    assert response.json()["detail"]


def test_accepting_makes_the_caller_a_member_with_the_role(
    client: TestClient, bob: Headers, home_list
) -> None:
    joined = accept(client, "bob", invite(client, home_list["id"], "viewer")["token"])
    assert joined.status_code == 200, joined.text
    assert (joined.json()["id"], joined.json()["role"]) == (home_list["id"], "viewer")
    assert joined.json()["owner_id"] == "alice"
    lists = client.get("/api/bob/lists", headers=bob).json()
    assert [(row["name"], row["role"]) for row in lists] == [("Home", "viewer")]


def test_expired_used_revoked_and_unknown_tokens_get_one_404(
    client: TestClient, alice: Headers, home_list
) -> None:
    used = invite(client, home_list["id"], "editor")
    assert accept(client, "bob", used["token"]).status_code == 200
    revoked = invite(client, home_list["id"], "editor")
    url = f"/api/alice/lists/{home_list['id']}/invitations/{revoked['id']}"
    assert client.delete(url, headers=alice).status_code == 204
    expired = invite(client, home_list["id"], "editor")
    query(
        client,
        "UPDATE list_invitation SET expires_at = :past WHERE id = :id",
        past=datetime.now(UTC) - timedelta(seconds=1),
        id=expired["id"],
    )
    for token in (used["token"], revoked["token"], expired["token"], "no-such-token"):
        response = accept(client, "carol", token)
        assert (response.status_code, response.json()) == (404, {"detail": MISSING})
    assert client.get("/api/carol/lists", headers={}).status_code == 401
    members = client.get(f"/api/alice/lists/{home_list['id']}/members", headers=alice).json()
    assert [m["user_id"] for m in members] == ["alice", "bob"]


def test_an_invitation_for_several_lets_in_that_many(client: TestClient, home_list) -> None:
    token = invite(client, home_list["id"], "viewer", max_uses=2)["token"]
    assert [accept(client, user, token).status_code for user in ("bob", "carol", "dave")] == [
        200,
        200,
        404,
    ]


def test_accepting_twice_or_ones_own_list_changes_nothing(
    client: TestClient, alice: Headers, home_list
) -> None:
    token = invite(client, home_list["id"], "editor", max_uses=5)["token"]
    assert accept(client, "bob", token).status_code == 200
    again = accept(client, "bob", token)
    own = accept(client, "alice", token)
    assert (again.status_code, again.json()["role"]) == (200, "editor")
    assert (own.status_code, own.json()["role"]) == (200, "owner")
    open_ones = client.get(f"/api/alice/lists/{home_list['id']}/invitations", headers=alice)
    assert open_ones.json()[0]["uses_left"] == 4


def test_only_the_owner_manages_invitations(
    client: TestClient, home, bob: Headers, carol: Headers, dave: Headers
) -> None:
    url = f"/api/{{user}}/lists/{home['list']['id']}/invitations"
    for user, headers, status in (("bob", bob, 403), ("carol", carol, 403), ("dave", dave, 404)):
        made = client.post(url.format(user=user), json={"role": "editor"}, headers=headers)
        listed = client.get(url.format(user=user), headers=headers)
        revoked = client.delete(url.format(user=user) + "/1", headers=headers)
        assert (made.status_code, listed.status_code, revoked.status_code) == (status,) * 3


def test_a_list_has_at_most_max_members_and_max_open_invitations(
    make_settings, alice: Headers
) -> None:
    from todo_api.main import create_app

    settings = make_settings(max_members_per_list=1, max_invitations_per_list=2)
    with TestClient(create_app(settings)) as client:
        made = client.post("/api/alice/lists", json={"name": "Home"}, headers=alice).json()
        first = invite(client, made["id"], "editor")
        second = invite(client, made["id"], "editor")
        third = client.post(
            f"/api/alice/lists/{made['id']}/invitations", json={"role": "editor"}, headers=alice
        )
        assert third.status_code == 409
        assert accept(client, "bob", first["token"]).status_code == 200
        full = accept(client, "carol", second["token"])
        assert full.status_code == 409
        assert "at most 1 members" in full.json()["detail"]


def test_accepting_is_rate_limited_per_user(make_settings) -> None:
    from todo_api.main import create_app

    settings = make_settings(invitation_accept_rate_limit="2/hour")
    with TestClient(create_app(settings)) as client:
        answers = [accept(client, "bob", f"guess-{n}").status_code for n in range(3)]
        assert answers == [404, 404, 429]
        assert accept(client, "carol", "guess").status_code == 404
