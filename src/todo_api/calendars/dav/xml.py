"""WebDAV's XML: request bodies parsed without DTDs or entities, multistatus answers built.

Request bodies are parsed by defusedxml with DTDs forbidden outright, so that an external
entity (XXE) or an entity expansion (billion laughs) never reaches the parser's resolver.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from todo_api.core.errors import ApiError

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


class BadXml(ApiError):
    """A request body that is not XML this service reads."""

    status_code = 400
    default_detail = "The request body is not well-formed XML"


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


@dataclass(slots=True)
class Response:
    """One `<d:response>` of a multistatus: a resource's properties (found, and not), or its
    status alone."""

    path: str
    found: dict[str, Value] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    status: int | None = None
    refused: list[str] = field(default_factory=list)

    def xml(self) -> Element:
        """The response element."""
        node = element(tag(DAV, "response"), children=[href(self.path)])
        if self.status is not None:
            node.append(element(tag(DAV, "status"), _STATUS[self.status]))
            return node
        if self.found or not (self.missing or self.refused):
            props = [_property(name, value) for name, value in self.found.items()]
            node.append(_propstat(props, 200))
        if self.missing:
            node.append(_propstat([element(name) for name in self.missing], 404))
        if self.refused:
            node.append(_propstat([element(name) for name in self.refused], 403))
        return node


def _property(name: str, value: Value) -> Element:
    if value is None or isinstance(value, str):
        return element(name, value)
    return element(name, children=value)


def _propstat(props: list[Element], status: int) -> Element:
    return element(
        tag(DAV, "propstat"),
        children=[
            element(tag(DAV, "prop"), children=props),
            element(tag(DAV, "status"), _STATUS[status]),
        ],
    )


def multistatus(responses: Iterable[Response], sync_token: str | None = None) -> bytes:
    """A `<d:multistatus>` document of these responses (and a sync token, for sync reports)."""
    root = element(tag(DAV, "multistatus"), children=[r.xml() for r in responses])
    if sync_token is not None:
        root.append(element(tag(DAV, "sync-token"), sync_token))
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def error(condition: str) -> bytes:
    """A `<d:error>` document naming the precondition that failed (Clark notation)."""
    root = element(tag(DAV, "error"), children=[element(condition)])
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
