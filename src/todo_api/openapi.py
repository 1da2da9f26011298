"""The OpenAPI document: FastAPI's, plus what the routes read themselves or offer besides.

The one customisation of the document. It adds the component schemas of the bodies the task
routes read themselves (`routes.bypass.JsonBody`) and, with the service's own accounts on, the
OAuth2 password flow beside the bearer scheme, so that the docs page's "Authorize" button can
sign in (requests are still read by the one bearer dependency), and the configured minimum
length of a new password.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.security import OAuth2PasswordBearer

from todo_api.routes.bypass import body_schemas


def customise(
    app: FastAPI, *, password_flow: OAuth2PasswordBearer | None, password_min_length: int = 1
) -> None:
    """Make `app` serve the document described above (built on first request, then kept)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # kept by FastAPI as app.openapi_schema: completed in place
        components = schema["components"]
        components["schemas"] = dict(sorted((components["schemas"] | body_schemas()).items()))
        if password_flow is not None:
            _offer_password_flow(schema, password_flow)
            _state_password_minimum(schema, password_min_length)
        return schema

    # FastAPI's documented way to extend the document: replace the app's `openapi`.
    app.openapi = openapi  # type: ignore[method-assign]


def _offer_password_flow(schema: dict[str, Any], flow: OAuth2PasswordBearer) -> None:
    schemes = schema["components"]["securitySchemes"]
    schemes[flow.scheme_name] = jsonable_encoder(flow.model, by_alias=True, exclude_none=True)
    for path in schema["paths"].values():
        for operation in path.values():
            security = operation.get("security", [])
            if {"HTTPBearer": []} in security:
                security.append({flow.scheme_name: []})


def _state_password_minimum(schema: dict[str, Any], minimum: int) -> None:
    # A setting, enforced by the password policy rather than the model: the document states
    # it, so that schema-driven clients and fuzzers know what a sign-up needs.
    schema["components"]["schemas"]["SignUp"]["properties"]["password"]["minLength"] = minimum
