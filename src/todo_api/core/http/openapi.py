"""The application class: FastAPI with its docs pages served offline, the one customisation
of the OpenAPI document, and no layers around every request that have nothing to do.

The document is FastAPI's, plus the component schemas of the bodies routes read themselves
(`request_parts.JsonBody`), plus what each domain adds to it (`document_edits`, e.g. the
accounts' password flow): built on first request, then kept. Swagger UI and ReDoc load their
assets from the service (the fastapi-offline package ships them), never from a CDN.
"""

from collections.abc import Callable, Sequence
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp

from todo_api.core.http.request_parts import body_schemas

DocumentEdit = Callable[[dict[str, Any]], None]
# Swagger UI's and ReDoc's files, as the fastapi-offline package ships them.
_DOCS_ASSETS = str(files("fastapi_offline") / "static")


class TodoApi(FastAPI):
    """The service's FastAPI application."""

    def __init__(
        self,
        *,
        static_url: str,
        document_edits: Sequence[DocumentEdit] = (),
        docs_url: str = "/docs",
        redoc_url: str = "/redoc",
        **options: Any,
    ) -> None:
        super().__init__(docs_url=None, redoc_url=None, **options)
        self.document_edits = list(document_edits)
        telemetry = options.get("telemetry")
        # FastAPI's default (None) traces, meters and logs when OpenTelemetry is set up.
        self.observes_errors = telemetry is None or any(telemetry.values())
        self._serve_docs(static_url, docs_url, redoc_url)

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack, less the two layers it puts around every request that have nothing
        to do here: exceptions reported to OpenTelemetry when telemetry is off, and a body size
        limit when `max_body_size` is unset (BodySizeLimitMiddleware is the service's). Each
        layer is a call and a frame on every request, the busiest included."""
        if self.observes_errors or self.max_body_size is not None:
            return super().build_middleware_stack()
        error_handler = None
        handlers = {}
        for key, handler in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = handler
            else:
                handlers[key] = handler
        # Innermost first, as FastAPI builds it: the request's exit stack (which its routes
        # need), the error handlers, the service's middleware, the last-resort 500.
        app: ASGIApp = AsyncExitStackMiddleware(self.router)
        app = ExceptionMiddleware(app, handlers=handlers, debug=self.debug)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is not None:
            return self.openapi_schema
        schema = super().openapi()  # kept by FastAPI as self.openapi_schema: completed in place
        components = schema["components"]
        components["schemas"] = dict(sorted((components["schemas"] | body_schemas()).items()))
        for edit in self.document_edits:
            edit(schema)
        return schema

    def _serve_docs(self, static_url: str, docs_url: str, redoc_url: str) -> None:
        self.mount(static_url, StaticFiles(directory=_DOCS_ASSETS), name="static-docs")
        openapi_url = self.openapi_url or "/openapi.json"
        redirect_url = self.swagger_ui_oauth2_redirect_url or f"{docs_url}/oauth2-redirect"

        async def swagger_ui(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{self.title} - Swagger UI",
                oauth2_redirect_url=redirect_url,
                swagger_js_url=f"{root}{static_url}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{static_url}/swagger-ui.css",
                swagger_favicon_url=f"{root}{static_url}/favicon.png",
                swagger_ui_parameters=self.swagger_ui_parameters,
            )

        async def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()

        async def redoc(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{self.title} - ReDoc",
                redoc_js_url=f"{root}{static_url}/redoc.standalone.js",
                with_google_fonts=False,
                redoc_favicon_url=f"{root}{static_url}/favicon.png",
            )

        self.add_api_route(docs_url, swagger_ui, include_in_schema=False)
        self.add_api_route(redirect_url, swagger_ui_redirect, include_in_schema=False)
        self.add_api_route(redoc_url, redoc, include_in_schema=False)
