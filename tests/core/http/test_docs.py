"""The API documentation: served offline, and a schema that declares every answer."""

import re

import pytest
from fastapi.testclient import TestClient

ERROR_REF = "#/components/schemas/ErrorDetail"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_service_itself(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not re.search(r"https?://|//[a-z]", html, re.IGNORECASE), "no external URL"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/docs/"), asset
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 0
    spec = re.search(r"""(?:url:\s*'|spec-url=")([^'"]+)""", html)
    assert spec is not None and spec.group(1) == "/openapi.json"


# The calendar feed's credential is a token in its URL: calendar apps send no headers.
FEED = "/api/{user_id}/calendar.ics"


def test_the_schema_declares_bearer_auth_on_every_user_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["HTTPBearer"]["description"],
    }
    for path, operations in schema["paths"].items():
        if path == FEED:
            assert operations["get"]["security"] == [{"FeedToken": []}]
        elif path.startswith("/api/{user_id}/") or path == "/api/auth/me":
            for operation in operations.values():
                assert {"HTTPBearer": []} in operation["security"], path


def _error_response(operation: dict, status: str) -> dict:
    response = operation["responses"][status]
    assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    return response


def test_the_schema_declares_every_error_with_the_detail_model(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert "429" in statuses, (method, path)
            _error_response(operation, "431")  # the server's, on any path
            if path == FEED:
                # A wrong token is 404 (the feed is not found), never 401, 403 or 422.
                for status in ("404", "429", "503"):
                    _error_response(operation, status)
            elif path.startswith("/api/{user_id}/"):
                for status in ("401", "403", "413", "429", "503"):
                    _error_response(operation, status)
                assert "422" in statuses
            elif path.startswith("/api/auth/"):
                for status in ("413", "429", "503"):
                    _error_response(operation, status)
            if "{task_id}" in path:
                _error_response(operation, "404")
    create = paths["/api/{user_id}/tasks"]["post"]
    _error_response(create, "409")
    _error_response(paths["/ready"]["get"], "503")


def test_the_schema_has_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    task_create = schema["components"]["schemas"]["TaskCreate"]["properties"]
    assert task_create["title"]["examples"] == ["Buy milk"]
    too_many = schema["paths"]["/api/{user_id}/tasks"]["get"]["responses"]["429"]
    assert "detail" in too_many["content"]["application/json"]["example"]
