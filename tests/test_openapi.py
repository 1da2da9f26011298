"""The served OpenAPI document is exactly the committed snapshot (compared as data).

Refactoring must leave the document alone; a change to the API made on purpose regenerates
the snapshots and commits them with the change, so the diff shows what the API gained:

    UPDATE_OPENAPI_SNAPSHOTS=1 uv run pytest tests/test_openapi.py

(`git diff tests/snapshots/` then shows the change to review.)
"""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from todo_api.core.config import Settings
from todo_api.main import create_app

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_OPENAPI_SNAPSHOTS") == "1"


def _served(settings: Settings) -> Any:
    # No lifespan: the document needs no database.
    return TestClient(create_app(settings)).get("/openapi.json").json()


@pytest.mark.parametrize(
    ("snapshot", "overrides"),
    [("openapi.json", {}), ("openapi-no-accounts.json", {"accounts_enabled": False})],
)
def test_the_served_openapi_document_is_the_snapshot(
    make_settings: Any, snapshot: str, overrides: dict[str, Any]
) -> None:
    served = _served(make_settings(**overrides))
    path = SNAPSHOTS / snapshot
    if UPDATE:
        path.write_text(json.dumps(served, indent=2, ensure_ascii=False) + "\n")
    assert served == json.loads(path.read_text())
