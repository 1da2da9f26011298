"""The 422 answer to an invalid request: FastAPI's, with each error's `input` made safe to echo,
and a body sent without a JSON Content-Type told so."""

import math
from typing import Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from todo_api.core.http.request_parts import is_json

# Fields whose value a 422 never echoes back, wherever they appear in the body.
SECRET_FIELDS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
    }
)
# How deep a 422 echoes an input: deeper structures are replaced by "…". Rendering is bounded
# by this, not by the nesting a client chose (a 1 KB body can nest 500 levels deep).
MAX_ECHO_DEPTH = 4
_ELIDED = "…"
# What FastAPI says of a body it did not read as JSON ("Input should be a valid dictionary…")
# names no cause; the cause is the request's Content-Type.
NOT_JSON = "Expected a JSON object: send the body as JSON, with Content-Type: application/json"


def _echo(value: Any, depth: int = 0) -> Any:
    """`value` as a 422 may show it: secrets left out, depth bounded, and what UTF-8 JSON cannot
    write given as text (NaN and infinities, bytes, lone surrogates such as `"\\ud800"`)."""
    if isinstance(value, str):
        return value.encode(errors="replace").decode()
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, dict | list | tuple) and depth >= MAX_ECHO_DEPTH:
        return _ELIDED
    if isinstance(value, dict):
        return {
            str(key): _echo(item, depth + 1)
            for key, item in value.items()
            if str(key).lower() not in SECRET_FIELDS
        }
    if isinstance(value, list | tuple):
        return [_echo(item, depth + 1) for item in value]
    return jsonable_encoder(value)


def _names_a_secret(text: str | bytes) -> bool:
    lowered = (text.decode(errors="replace") if isinstance(text, bytes) else text).lower()
    return any(name in lowered for name in SECRET_FIELDS)


def _shown_error(error: dict[str, Any], *, json_body: bool) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    # A body that was not read as JSON is refused whole, as the text it came as.
    unread_body = loc == ("body",) and isinstance(error.get("input"), str | bytes)
    shown: dict[str, Any] = {
        "type": error.get("type"),
        "loc": [_echo(part) for part in loc],
        "msg": NOT_JSON if unread_body and not json_body else error.get("msg"),
    }
    secret = any(str(part).lower() in SECRET_FIELDS for part in loc) or (
        unread_body and _names_a_secret(error["input"])
    )
    if "input" in error and not secret:
        shown["input"] = _echo(error["input"])
    if "ctx" in error:
        shown["ctx"] = {str(k): _echo(v, MAX_ECHO_DEPTH - 1) for k, v in error["ctx"].items()}
    return shown


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own 422, with each error's `input` made safe to echo: never a password (a
    # missing field's input is the whole body, and so is a body not read as JSON), never
    # deeper than MAX_ECHO_DEPTH, and only what UTF-8 JSON can carry (Python's decoder accepts
    # NaN, Infinity and lone surrogates).
    assert isinstance(exc, RequestValidationError)
    json_body = is_json(request.headers.get("content-type", ""))
    errors = [_shown_error(error, json_body=json_body) for error in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
