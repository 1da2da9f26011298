"""The MCP (Model Context Protocol) server at `/mcp`: the caller's tasks as tools for AI assistants.

`tools` holds what the tools do (each a call into the tasks domain, as a REST route is) and
`arguments` their argument types; `server` the SDK's server with them; `endpoint` the HTTP
side: the bearer token, the stateless streamable HTTP transport, and the RFC 9728 metadata
that tells clients where tokens come from.

This package is `todo_api.mcp`; the official SDK it builds on is the top-level `mcp` package
(absolute imports keep the two apart).
"""
