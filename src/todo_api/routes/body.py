"""Task bodies read by their routes: pydantic validates the JSON bytes in one pass.

For a body parameter, FastAPI parses the Content-Type with the email package, decodes the JSON
with `json` and then validates the objects: a tenth of a create's CPU, measured with bench/.
`read_json` returns the same model; a body it cannot take at once (invalid, or not plain
`application/json`) it reads as FastAPI does, so every bad body gets FastAPI's very 4xx.
`json_body` declares the body in the OpenAPI schema as a body parameter would.
"""

import email.message
import json
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

Model = TypeVar("Model", bound=BaseModel)

# The models json_body declared, by name: their schemas join the OpenAPI components.
_DECLARED: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring `model` as the route's JSON body (read with `read_json`)."""
    _DECLARED[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def _stand_in(model: type[BaseModel]) -> APIRoute:
    async def endpoint(body: model) -> None:  # type: ignore[valid-type]
        """A route with `model` for its body, for FastAPI to write the schema of."""

    return APIRoute(f"/{model.__name__}", endpoint, methods=["POST"])


def document_json_bodies(app: FastAPI) -> None:
    """Add the schemas of the bodies `json_body` declared to the app's OpenAPI components,
    as FastAPI writes them for body parameters (made with the document, not at start-up)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        routes = [_stand_in(model) for model in _DECLARED.values()]
        bodies = get_openapi(title="", version="", routes=routes)["components"]["schemas"]
        components = schema["components"]["schemas"] | bodies
        schema["components"]["schemas"] = dict(sorted(components.items()))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def read_json(request: Request, model: type[Model]) -> Model:
    """The request's JSON body as `model`; otherwise the 4xx FastAPI gives for a body parameter."""
    body = await _body(request)
    content_type = request.headers.get("content-type")
    if body and content_type and _media_type(content_type) == "application/json":
        try:
            return model.model_validate_json(body)
        except ValidationError:
            pass  # answered below, as FastAPI answers it
    return _validate(model, _decode(body, content_type))


async def _body(request: Request) -> bytes:
    try:
        return await request.body()
    except StarletteHTTPException:  # 413 from the body size limit
        raise
    except Exception as error:  # the client went away mid-body, say
        raise _unreadable() from error


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _decode(body: bytes, content_type: str | None) -> Any:
    if not body:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    if not content_type or not _is_json(content_type):
        return body  # validated as is: the 422 says an object was expected
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", error.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": error.msg},
                }
            ]
        ) from None
    except Exception as error:  # not UTF-8 (or 16 or 32), nested too deep
        raise _unreadable() from error


def _is_json(content_type: str) -> bool:
    # FastAPI's test, as FastAPI writes it: application/json or application/*+json.
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _validate(model: type[Model], value: Any) -> Model:
    try:
        return model.model_validate(value, from_attributes=True)  # as FastAPI validates bodies
    except ValidationError as error:
        raise RequestValidationError(
            [error | {"loc": ("body", *error["loc"])} for error in error.errors(include_url=False)]
        ) from None


def _unreadable() -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, "There was an error parsing the body")
