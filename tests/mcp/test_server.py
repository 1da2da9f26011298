"""The MCP server's seam around the SDK: which tool schemas the transport checks headers against."""

from typing import Annotated

from mcp.shared.inbound import validate_mcp_param_headers
from pydantic import Field

from todo_api.mcp.server import TaskServer, build_server
from todo_api.mcp.tools import TOOLS

STRAY_HEADERS = {"mcp-param-title": "not the title", "mcp-param-user_id": "someone-else"}


def test_no_task_tool_has_a_schema_to_check_mcp_param_headers_against() -> None:
    server = build_server()
    for tool, _ in TOOLS:
        plain = server._tool_manager.get_tool(tool.__name__)
        assert plain is not None
        # What the transport answers given the whole schema: nothing to reject.
        assert validate_mcp_param_headers(plain.parameters, {"title": "x"}, STRAY_HEADERS) is None
        assert server._tool_input_schema(tool.__name__) is None


def test_a_tool_declaring_an_mcp_param_header_still_has_it_checked() -> None:
    server = TaskServer(name="routing")

    async def in_region(
        region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})],
    ) -> str:
        return region

    server.add_tool(in_region)
    schema = server._tool_input_schema("in_region")

    assert schema is not None
    rejection = validate_mcp_param_headers(schema, {"region": "eu"}, {"mcp-param-region": "us"})
    assert rejection is not None
    assert validate_mcp_param_headers(schema, {"region": "eu"}, {"mcp-param-region": "eu"}) is None


def test_the_transport_asks_the_server_for_the_schema() -> None:
    # The seam is a method of the SDK's own: were the transport to stop calling it, the tests
    # above would still pass while every call walked the schemas again.
    lookup = build_server()._lowlevel_server.get_tool_input_schema
    assert getattr(lookup, "__func__", None) is TaskServer._tool_input_schema


def test_an_unknown_tool_has_no_schema() -> None:
    assert build_server()._tool_input_schema("no_such_tool") is None
