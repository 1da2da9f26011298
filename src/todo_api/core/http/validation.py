"""The 422 answer to an invalid request: FastAPI's, with each error's `input` made safe to echo."""

import math
from typing import Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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


def _shown_error(error: dict[str, Any]) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    shown: dict[str, Any] = {
        "type": error.get("type"),
        "loc": [_echo(part) for part in loc],
        "msg": error.get("msg"),
    }
    if "input" in error and not any(str(part).lower() in SECRET_FIELDS for part in loc):
        shown["input"] = _echo(error["input"])
    if "ctx" in error:
        shown["ctx"] = {str(k): _echo(v, MAX_ECHO_DEPTH - 1) for k, v in error["ctx"].items()}
    return shown


async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own 422, with each error's `input` made safe to echo: never a password (a
    # missing field's input is the whole body), never deeper than MAX_ECHO_DEPTH, and only what
    # UTF-8 JSON can carry (Python's decoder accepts NaN, Infinity and lone surrogates).
    assert isinstance(exc, RequestValidationError)
    errors = [_shown_error(error) for error in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
