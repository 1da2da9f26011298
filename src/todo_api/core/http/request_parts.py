"""Request parts the busiest routes read themselves, each declared once for both jobs.

FastAPI reads a body, query model or header parameter with general machinery that costs more
than the rest of a create or a default listing's Python work. A `JsonBody`, `QueryModel` or
`HeaderValue` names what it reads once and gives the route both its reader (`read`) and its
OpenAPI declaration (`openapi_extra`), and every bad input gets the very 4xx FastAPI would
give for the parameter it replaces (tests/core/http/test_request_parts.py pins each of them).
"""

import email.message
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar, get_origin

from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

Model = TypeVar("Model", bound=BaseModel)
Value = TypeVar("Value")

# The models JsonBody declared, by name: their schemas join the OpenAPI components.
_BODIES: dict[str, type[BaseModel]] = {}


class _Part(ABC):
    """Something a route reads itself."""

    @abstractmethod
    def openapi(self) -> dict[str, Any]:
        """What it adds to the route's OpenAPI operation."""


def openapi_extra(*parts: _Part) -> dict[str, Any]:
    """The route's `openapi_extra` for the parts it reads itself, in the order given."""
    extra: dict[str, Any] = {}
    for part in parts:
        for key, value in part.openapi().items():
            extra[key] = extra.get(key, []) + value if key == "parameters" else value
    return extra


def _parse(
    adapter: TypeAdapter[Value], value: object, *location: str, context: bool = False
) -> Value:
    """`value` validated, or the 422 FastAPI gives for a parameter it parsed itself
    (`context`: with each error's `ctx`, as FastAPI gives it for a header parameter)."""
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise RequestValidationError(
            [
                dict(detail) | {"loc": (*location, *detail["loc"])}
                for detail in error.errors(include_url=False, include_context=context)
            ]
        ) from None


# --- headers ----------------------------------------------------------------------------------


class HeaderValue(_Part):
    """An optional header (its first value), validated by `adapter` when it is sent.

    Declared with `adapter`'s schema; `context`: 422s carry each error's `ctx`, as FastAPI's
    own header parameters give them.
    """

    def __init__(
        self,
        name: str,
        adapter: TypeAdapter[Any],
        description: str | None = None,
        *,
        context: bool = False,
    ) -> None:
        self.name = name
        self._key = name.lower()
        self._adapter = adapter
        self._context = context
        self._parameter: dict[str, Any] = {
            "name": name,
            "in": "header",
            "required": False,
            "schema": adapter.json_schema(),
        }
        if description is not None:
            self._parameter["description"] = description

    @classmethod
    def like_fastapi(
        cls, name: str, *, max_length: int, description: str | None = None
    ) -> "HeaderValue":
        """The header as FastAPI declares and reads `Header(max_length=…)` on `str | None`."""
        field = Field(max_length=max_length, title=name.title(), description=description)
        return cls(
            name.lower(), TypeAdapter(Annotated[str | None, field]), description, context=True
        )

    def openapi(self) -> dict[str, Any]:
        return {"parameters": [self._parameter]}

    def read(self, request: Request) -> str | None:
        """The header's value, None if it was not sent; a 422 if it is not valid."""
        value = request.headers.get(self._key)
        if value is None:
            return None
        valid: str = _parse(self._adapter, value, "header", self._key, context=self._context)
        return valid


# --- query ------------------------------------------------------------------------------------


def _inline(node: Any, definitions: Mapping[str, Any]) -> Any:
    """A JSON schema with its `$ref`s replaced by what they point at."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


class QueryModel(_Part, Generic[Model]):
    """A query string read into `model`, one field per parameter (list fields repeatable)."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self._adapter = TypeAdapter(model)
        self._default = model()
        self._repeatable = tuple(
            name
            for name, field in model.model_fields.items()
            if get_origin(field.annotation) is list
        )

    def openapi(self) -> dict[str, Any]:
        schema = self.model.model_json_schema()
        properties = _inline(schema["properties"], schema.get("$defs", {}))
        parameters = []
        for name, field in properties.items():
            description = field.pop("description", None)
            parameter = {"name": name, "in": "query", "required": False, "schema": field}
            if description:
                parameter["description"] = description
            parameters.append(parameter)
        return {"parameters": parameters}

    def read(self, request: Request) -> Model:
        """The query as `model`; the 422 FastAPI gives for a query model if it is not one."""
        params = request.query_params
        if not params:
            return self._default
        values: dict[str, Any] = dict(params.items())
        for name in self._repeatable:
            if name in values:
                values[name] = params.getlist(name)
        return _parse(self._adapter, values, "query")


# --- JSON bodies ------------------------------------------------------------------------------


class JsonBody(_Part, Generic[Model]):
    """A JSON body read into `model`: validated by pydantic straight from the bytes.

    A body it cannot take at once (invalid, or not plain `application/json`) is read as
    FastAPI reads a body parameter, so that every bad body gets FastAPI's very 4xx.
    """

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        _BODIES[model.__name__] = model

    def openapi(self) -> dict[str, Any]:
        schema = {"$ref": f"#/components/schemas/{self.model.__name__}"}
        content = {"application/json": {"schema": schema}}
        return {"requestBody": {"content": content, "required": True}}

    async def read(self, request: Request) -> Model:
        """The request's JSON body as the model; otherwise FastAPI's 4xx for a body parameter."""
        return await read_json(request, self.model)


def body_schemas() -> dict[str, Any]:
    """The OpenAPI component schemas of the bodies JsonBody declared, as FastAPI writes them
    for body parameters (and of the models they use)."""
    routes = [_stand_in(model) for model in _BODIES.values()]
    schemas: dict[str, Any] = get_openapi(title="", version="", routes=routes)["components"][
        "schemas"
    ]
    return schemas


def _stand_in(model: type[BaseModel]) -> APIRoute:
    async def endpoint(body: BaseModel) -> None:
        """A route with `model` for its body, for FastAPI to write the schema of."""

    endpoint.__annotations__["body"] = model
    return APIRoute(f"/{model.__name__}", endpoint, methods=["POST"])


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
    if not content_type or not is_json(content_type):
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


def is_json(content_type: str) -> bool:
    """Whether a Content-Type says JSON: application/json or application/*+json (FastAPI's
    test, as FastAPI writes it)."""
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
            [
                dict(detail) | {"loc": ("body", *detail["loc"])}
                for detail in error.errors(include_url=False)
            ]
        ) from None


def _unreadable() -> HTTPException:
    # FastAPI's own error for a body it cannot read, as FastAPI raises it.
    return HTTPException(status.HTTP_400_BAD_REQUEST, "There was an error parsing the body")
