"""The 422 a client gets: FastAPI's shape, with messages that name what to change."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers

JSON = {"Content-Type": "application/json"}
NOT_JSON = "Expected a JSON object: send the body as JSON, with Content-Type: application/json"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/alice/tasks", '{"title": "Buy milk"}'),
        ("/api/alice/tasks/bulk/complete", '{"all_pending": true}'),
        ("/api/auth/sign-up", '{"email": "bob@example.com", "name": "Bob"}'),
    ],
)
def test_a_body_without_a_json_content_type_is_told_to_send_one(
    client: TestClient, alice: Headers, path: str, body: str, content_type: str | None
) -> None:
    headers = alice | ({"Content-Type": content_type} if content_type else {})
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"type": "model_attributes_type", "loc": ["body"], "msg": NOT_JSON, "input": body}
        ]
    }


def test_a_json_body_of_the_wrong_shape_keeps_fastapi_s_message(
    client: TestClient, alice: Headers
) -> None:
    response = client.post("/api/alice/tasks", content='"Buy milk"', headers=alice | JSON)
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert error["msg"] != NOT_JSON
