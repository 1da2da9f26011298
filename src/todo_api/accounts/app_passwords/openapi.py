"""The Basic scheme in the OpenAPI document, beside the bearer one, on the operations whose
owner dependency takes app passwords (`ApiOwner`): requests are still read by that one
dependency, which declares only the bearer scheme itself."""

from collections.abc import Collection
from typing import Any

from todo_api.core.http.openapi import DocumentEdit

SCHEME_NAME = "HTTPBasic"
_SCHEME = {
    "type": "http",
    "scheme": "basic",
    "description": "An app password (`POST /api/{user_id}/app-passwords`) with the `read` or "
    "`read` and `write` scope; the username is the user's id or email.",
}


def offer_basic(tags: Collection[str]) -> DocumentEdit:
    """An edit that offers Basic on the bearer-secured operations of these tags."""

    def edit(schema: dict[str, Any]) -> None:
        schema["components"]["securitySchemes"][SCHEME_NAME] = dict(_SCHEME)
        for path in schema["paths"].values():
            for operation in path.values():
                security = operation.get("security", [])
                if {"HTTPBearer": []} in security and set(operation.get("tags", [])) & set(tags):
                    security.append({SCHEME_NAME: []})

    return edit
