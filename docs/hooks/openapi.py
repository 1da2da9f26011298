"""MkDocs hook: the API reference page, written at build time from the OpenAPI document.

A page holding `<!-- openapi: PATH -->` gets, in its place, every operation of the document at
PATH (relative to the repository) and every schema it uses, as Markdown. The page is built from
`tests/snapshots/openapi.json`, which `tests/test_openapi.py` keeps equal to what the service
serves at `/openapi.json`, so the reference cannot drift from the API.

Why a hook of our own: the plugins that render OpenAPI either embed Swagger UI or ReDoc (a
script that draws the page in the browser, as the service's own `/docs` and `/redoc` already
do, and which the site's search cannot read), or want a stylesheet fetched from their project's
repository. The document is plain data, and Markdown tables are what the theme styles and the
search indexes.
"""

import json
import re
from pathlib import Path
from typing import Any

MARKER = re.compile(r"<!-- openapi: (?P<path>\S+) -->")
METHODS = ("get", "post", "put", "patch", "delete")
Schema = dict[str, Any]


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs' hook: the marker replaced by the reference it names."""
    match = MARKER.search(markdown)
    if match is None:
        return markdown
    root = Path(config["config_file_path"]).parent
    document = json.loads((root / match["path"]).read_text())
    return markdown[: match.start()] + reference(document) + markdown[match.end() :]


def reference(document: dict[str, Any]) -> str:
    """The operations, grouped by tag in the document's order, then the schemas."""
    groups: dict[str, list[str]] = {}
    for path, operations in document["paths"].items():
        for method in METHODS:
            if method in operations:
                operation = operations[method]
                tag = (operation.get("tags") or ["service"])[0]
                groups.setdefault(tag, []).append(_operation(method, path, operation))
    parts = []
    for tag, rendered in groups.items():
        parts.append(f"## {tag.capitalize()}\n")
        parts.extend(rendered)
    parts.append("## Schemas\n")
    for name, schema in document["components"]["schemas"].items():
        parts.append(_schema(name, schema))
    return "\n".join(parts)


def _anchor(method: str, path: str) -> str:
    return f"{method}-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    lines = [f"### `{method.upper()} {path}` {{#{_anchor(method, path)}}}", ""]
    summary = operation.get("summary", "")
    description = operation.get("description", "").strip()
    lines += [f"**{summary}.** {description}".strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for parameter in parameters:
            lines.append(
                _row(
                    f"`{parameter['name']}`",
                    parameter["in"],
                    _type(parameter.get("schema", {})),
                    "yes" if parameter.get("required") else "",
                    parameter.get("description", ""),
                )
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media, content in body["content"].items():
            lines += [f"Body ({media}): {_type(content.get('schema', {}))}", ""]
    lines += ["| status | meaning | body |", "|---|---|---|"]
    for status, response in sorted(operation.get("responses", {}).items()):
        schemas = [
            _type(content["schema"])
            for content in response.get("content", {}).values()
            if content.get("schema")
        ]
        lines.append(_row(status, response.get("description", ""), ", ".join(schemas)))
    return "\n".join(lines) + "\n"


def _schema(name: str, schema: Schema) -> str:
    lines = [f"### {name} {{#schema-{name.lower()}}}", ""]
    if schema.get("description"):
        lines += [_one_line(schema["description"]), ""]
    properties = schema.get("properties")
    if not properties:
        return "\n".join([*lines, f"{_type(schema)}", ""])
    required = set(schema.get("required", []))
    lines += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, definition in properties.items():
        lines.append(
            _row(
                f"`{field}`",
                _type(definition),
                "yes" if field in required else "",
                definition.get("description", ""),
            )
        )
    return "\n".join(lines) + "\n"


def _type(schema: Schema) -> str:
    """A schema in a few words: its type, what it links to, its limits."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#schema-{name.lower()})"
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return " or ".join(_type(option) for option in schema[union])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type(schema["allOf"][0])
    if "enum" in schema:
        text = "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    elif "const" in schema:
        text = f"`{schema['const']}`"
    elif schema.get("type") == "array":
        text = "array of " + _type(schema.get("items", {}))
    else:
        text = str(schema.get("type", "any"))
        if "format" in schema:
            text += f" ({schema['format']})"
    limits = [
        f"{label} {schema[key]}"
        for key, label in (
            ("minLength", "≥"),
            ("maxLength", "≤"),
            ("minimum", "≥"),
            ("maximum", "≤"),
            ("minItems", "≥"),
            ("maxItems", "≤"),
        )
        if key in schema
    ]
    if "pattern" in schema:
        limits.append(f"pattern `{schema['pattern']}`")
    if "default" in schema:
        limits.append(f"default `{json.dumps(schema['default'])}`")
    return text + (f" ({', '.join(limits)})" if limits else "")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _row(*cells: str) -> str:
    return "| " + " | ".join(_one_line(cell).replace("|", "\\|") for cell in cells) + " |"
