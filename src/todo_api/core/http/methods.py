"""The 405 answer: `Allow` lists every method the app serves on the path."""

import re
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount, Route, compile_path
from starlette.types import Scope


def _path_pattern(template: str, operations: dict[str, Any]) -> re.Pattern[str]:
    # Integer path parameters are routed with Starlette's `:int` convertor (digits only).
    for operation in operations.values():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                name = parameter["name"]
                template = template.replace(f"{{{name}}}", f"{{{name}:int}}")
    return compile_path(template)[0]


def allowed_methods(app: FastAPI, scope: Scope) -> set[str]:
    """The methods the app serves on the scope's path (HEAD wherever GET is): those the OpenAPI
    document declares for it, and those of the routes it leaves out (docs pages, static files)."""
    path = scope["path"]
    methods = {
        method.upper()
        for template, operations in app.openapi()["paths"].items()
        if _path_pattern(template, operations).fullmatch(path)
        for method in operations
    }
    # The router has made `scope` the matched route's (a mount's root_path): start afresh.
    root_path = scope.get("app_root_path", scope.get("root_path", ""))
    probe = {"type": "http", "method": "GET", "path": path, "root_path": root_path}
    for route in app.routes:
        if isinstance(route, Route | Mount) and route.matches(probe)[0] is not Match.NONE:
            # A mount (the docs' static files) serves what files are read with.
            methods |= getattr(route, "methods", None) or {"GET"}
    if "GET" in methods:
        methods.add("HEAD")
    return methods


async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI routes each method separately, and the first route matching the path answers 405
    # with only its own method in `Allow`: list what every route on the path serves instead.
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "Method Not Allowed"
    return JSONResponse(
        {"detail": detail},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": ", ".join(sorted(allowed_methods(request.app, request.scope)))},
    )
