"""`/mcp` over HTTP: the same bearer tokens as REST, the 401 that points clients at the resource
metadata (RFC 9728), that metadata, and the Origin check."""

from datetime import timedelta

import httpx2 as httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET, BetterAuthServer, make_token
from tests.mcp.conftest import Serve, call, connect
from todo_api.accounts.tokens import issue_token

pytestmark = pytest.mark.anyio

METADATA_PATH = "/.well-known/oauth-protected-resource"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


def post_mcp(base_url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{base_url}/mcp", json=LIST_TOOLS, headers=MCP_HEADERS | headers)


def expired_token() -> str:
    # Past the verifier's 30 s leeway.
    return issue_token(TEST_SECRET, subject="alice", expires_in=timedelta(minutes=-5))


def forged_token() -> str:
    return issue_token("not-the-secret-" + "x" * 64, subject="alice")


def unsigned_token() -> str:
    return jwt.encode({"sub": "alice", "exp": 4_000_000_000}, key=None, algorithm="none")


async def test_without_a_token_the_401_points_at_the_resource_metadata(base_url: str) -> None:
    response = post_mcp(base_url, {})
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer resource_metadata="{base_url}{METADATA_PATH}"'
    )


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        ("Bearer garbage", "Invalid token"),
        (f"Bearer {forged_token()}", "Invalid token"),
        (f"Bearer {unsigned_token()}", "Invalid token"),
        (f"Bearer {expired_token()}", "Token has expired"),
        (
            "Basic YWxpY2U6cGFzc3dvcmQ=",
            "The Authorization header must use the Bearer scheme: Authorization: Bearer <token>",
        ),
        ("Bearer", "The Authorization header holds no token after Bearer"),
    ],
)
async def test_a_bad_token_is_a_401_with_the_same_detail_as_rest(
    base_url: str, authorization: str, detail: str
) -> None:
    response = post_mcp(base_url, {"Authorization": authorization})
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer resource_metadata="{base_url}{METADATA_PATH}"')
    if "Authorization header" not in detail:
        assert f'error="invalid_token", error_description="{detail}"' in challenge
    # The lists' routes take bearer tokens only, as MCP does (the task routes take app
    # passwords by Basic too, so they answer a Basic header about the password).
    rest = httpx.get(f"{base_url}/api/alice/lists", headers={"Authorization": authorization})
    assert (rest.status_code, rest.json()) == (401, {"detail": detail})


async def test_the_official_client_cannot_connect_without_a_valid_token(base_url: str) -> None:
    for token in (None, expired_token(), "garbage"):
        with pytest.raises(Exception):  # noqa: B017 - whatever the SDK raises, it gets no tools
            async with connect(base_url, token) as session:
                await session.list_tools()


async def test_the_401s_metadata_url_serves_rfc_9728_metadata(base_url: str) -> None:
    challenge = post_mcp(base_url, {}).headers["WWW-Authenticate"]
    url = challenge.split('resource_metadata="')[1].rstrip('"')
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.json() == {
        "resource": base_url,
        "resource_name": "Todo API",
        "bearer_methods_supported": ["header"],
        # The service's own accounts are on by default: it issues tokens itself.
        "authorization_servers": [base_url],
    }
    # RFC 9728's location for the `/mcp` resource itself.
    mcp = httpx.get(f"{base_url}{METADATA_PATH}/mcp").json()
    assert mcp["resource"] == f"{base_url}/mcp"
    assert mcp["bearer_methods_supported"] == ["header"]


async def test_the_metadata_names_better_auth_when_it_is_configured(serve: Serve) -> None:
    base_url = serve(better_auth_url="https://app.example/", accounts_enabled=False)
    metadata = httpx.get(f"{base_url}{METADATA_PATH}").json()
    assert metadata["authorization_servers"] == ["https://app.example"]
    both = serve(better_auth_url="https://app.example")
    assert httpx.get(f"{both}{METADATA_PATH}").json()["authorization_servers"] == [
        "https://app.example",
        both,
    ]


async def test_the_metadata_is_not_part_of_the_rest_apis_schema(base_url: str) -> None:
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/.well-known", "/mcp"))]


async def test_better_auths_eddsa_tokens_work_as_they_do_on_rest(
    serve: Serve, better_auth: BetterAuthServer
) -> None:
    base_url = serve(better_auth_url=better_auth.url)
    token = better_auth.token(sub="ba-user")
    async with connect(base_url, token) as session:
        created = await call(session, "add_task", title="From the chatbot")
    response = httpx.get(
        f"{base_url}/api/ba-user/tasks", headers={"Authorization": f"Bearer {token}"}
    )
    assert [task["id"] for task in response.json()] == [created["task_id"]]


async def test_a_page_from_another_origin_is_refused(base_url: str) -> None:
    token = {"Authorization": f"Bearer {make_token('alice')}"}
    response = post_mcp(base_url, token | {"Origin": "https://evil.example"})
    assert response.status_code == 403
    allowed = post_mcp(base_url, token | {"Origin": "http://localhost:3000"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert [tool["name"] for tool in allowed.json()["result"]["tools"]]


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
async def test_only_post_is_served_there_are_no_sessions_or_streams(
    base_url: str, method: str
) -> None:
    # A GET would open a stream of server messages that a stateless server never sends.
    token = {"Authorization": f"Bearer {make_token('alice')}"}
    response = httpx.request(method, f"{base_url}/mcp", headers=MCP_HEADERS | token, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"',
        b'{"jsonrpc": "2.0", "method": 5}',
        b"[1, 2]",
    ],
    ids=["not json", "method not a string", "not an object"],
)
async def test_a_body_that_is_not_json_rpc_gets_plain_words(base_url: str, body: bytes) -> None:
    headers = MCP_HEADERS | {
        "Authorization": f"Bearer {make_token('alice')}",
        "Content-Type": "application/json",
    }
    response = httpx.post(f"{base_url}/mcp", content=body, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in (-32700, -32602)
    for internal in ("pydantic", "validation error", "input_value", "JSONRPCRequest", "line 1"):
        assert internal.lower() not in response.text.lower()
