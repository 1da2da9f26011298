"""WebDAV's XML: request bodies parsed without DTDs or entities, multistatus answers built.

Request bodies are parsed by defusedxml with DTDs forbidden outright, so that an external
entity (XXE) or an entity expansion (billion laughs) never reaches the parser's resolver.
"""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from todo_api.calendars.dav.errors import BadXml

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
APPLE = "http://apple.com/ns/ical/"

for _prefix, _uri in (("d", DAV), ("c", CALDAV), ("cs", CALSERVER), ("ical", APPLE)):
    ET.register_namespace(_prefix, _uri)

Element = ET.Element


def tag(namespace: str, name: str) -> str:
    """An element's name in Clark notation: `{namespace}name`."""
    return f"{{{namespace}}}{name}"


def parse(body: bytes) -> Element | None:
    """The body's root element (None for an empty body); BadXml for malformed XML, or for
    any DTD (entities, external or not, are refused with it)."""
    if not body.strip():
        return None
    try:
        root: Element = fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise BadXml("DTDs and entities are not accepted in request bodies") from None
    except ET.ParseError as error:
        raise BadXml(f"The request body is not well-formed XML: {error}") from None
    return root


def element(name: str, text: str | None = None, children: Iterable[Element] = ()) -> Element:
    """A new element named `name` (Clark notation), with text or children."""
    node = ET.Element(name)
    if text is not None:
        node.text = text
    node.extend(children)
    return node


def href(path: str) -> Element:
    """`<d:href>path</d:href>`."""
    return element(tag(DAV, "href"), path)


# A property's value: text, child elements, or empty.
Value = str | Sequence[Element] | None

_STATUS = {200: "HTTP/1.1 200 OK", 403: "HTTP/1.1 403 Forbidden", 404: "HTTP/1.1 404 Not Found"}


_PREFIXES = {DAV: "d", CALDAV: "c", CALSERVER: "cs", APPLE: "ical"}
_ROOT = "<d:multistatus " + " ".join(f'xmlns:{p}="{uri}"' for uri, p in _PREFIXES.items()) + ">"


# Reports write the same few names for each of their objects.
@functools.lru_cache(maxsize=256)
def _open_tag(name: str) -> tuple[str, str]:
    """The start of an element named `name` (Clark notation), and its closing tag."""
    if not name.startswith("{"):
        return f"<{name}", f"</{name}>"
    uri, local = name[1:].split("}", 1)
    prefix = _PREFIXES.get(uri)
    if prefix is None:  # a property of the client's own namespace, declared where it is
        return f'<x:{local} xmlns:x="{escape(uri, {chr(34): "&quot;"})}"', f"</x:{local}>"
    return f"<{prefix}:{local}", f"</{prefix}:{local}>"


def _write(name: str, value: Value, out: list[str]) -> None:
    start, end = _open_tag(name)
    if value is None or value == "" or (not isinstance(value, str) and not value):
        out.append(f"{start}/>")
    elif isinstance(value, str):
        out.append(f"{start}>{escape(value)}{end}")
    else:
        out.append(f"{start}>")
        for child in value:
            _write_element(child, out)
        out.append(end)


def _write_element(node: Element, out: list[str]) -> None:
    """An element built here (prefixes of the document's namespaces, no tail text)."""
    start, end = _open_tag(node.tag)
    attributes = "".join(
        f' {name}="{escape(value, {chr(34): "&quot;"})}"' for name, value in node.items()
    )
    if node.text is None and not len(node):
        out.append(f"{start}{attributes}/>")
        return
    out.append(f"{start}{attributes}>{escape(node.text or '')}")
    for child in node:
        _write_element(child, out)
    out.append(end)


def _propstat(names: Iterable[tuple[str, Value]], status: int, out: list[str]) -> None:
    out.append("<d:propstat><d:prop>")
    for name, value in names:
        _write(name, value, out)
    out.append(f"</d:prop><d:status>{_STATUS[status]}</d:status></d:propstat>")


@dataclass(slots=True)
class Response:
    """One `<d:response>` of a multistatus: a resource's properties (found, missing, and
    refused), or its status alone."""

    path: str
    found: dict[str, Value] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    status: int | None = None
    refused: list[str] = field(default_factory=list)

    def write(self, out: list[str]) -> None:
        """Append the response element's text to `out`."""
        out.append(f"<d:response><d:href>{escape(self.path)}</d:href>")
        if self.status is not None:
            out.append(f"<d:status>{_STATUS[self.status]}</d:status></d:response>")
            return
        if self.found or not (self.missing or self.refused):
            _propstat(self.found.items(), 200, out)
        if self.missing:
            _propstat(((name, None) for name in self.missing), 404, out)
        if self.refused:
            _propstat(((name, None) for name in self.refused), 403, out)
        out.append("</d:response>")


def multistatus(responses: Iterable[Response], sync_token: str | None = None) -> bytes:
    """A `<d:multistatus>` document of these responses (and a sync token, for sync reports),
    written as text: a report of many objects is mostly their iCalendar data."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n', _ROOT]
    for response in responses:
        response.write(out)
    if sync_token is not None:
        out.append(f"<d:sync-token>{escape(sync_token)}</d:sync-token>")
    out.append("</d:multistatus>")
    return "".join(out).encode()


def error(condition: str) -> bytes:
    """A `<d:error>` document naming the precondition that failed (Clark notation)."""
    root = element(tag(DAV, "error"), children=[element(condition)])
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
