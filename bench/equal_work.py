"""Before anything is timed: the ceiling answers each benchmarked request as the service does.

A ratio against the ceiling means something only while the two do the same work, and either
can drift from the other as the service grows. So every run first sends the requests it will
time to both and compares the answers: the same status, the same headers (by name; the values
of those that must match, too), and the same JSON, field by field and in order, but for what
cannot match between two creates (the id, the times, the position). A run whose ceiling does
less than the service stops here.
"""

import base64
import sys
from typing import Any

import httpx2 as httpx

# Headers either may send or leave out without doing more or less work.
_OPTIONAL = {"date", "server", "connection", "transfer-encoding", "vary"}
# Headers whose values both must agree on.
_SAME_VALUE = {"content-type", "x-total-count"}
# The fields that may differ between the two answers to a request: none for a read, what
# differs between any two creates, what differs between two toggles of one task in turn.
_MAY_DIFFER = {
    "GET": set(),
    "POST": {"id", "created_at", "updated_at", "position"},
    "PATCH": {"updated_at", "completed_at", "version"},
}


def _differences(service: httpx.Response, ceiling: httpx.Response, method: str) -> list[str]:
    found = []
    if service.status_code != ceiling.status_code:
        found.append(f"status {service.status_code} vs {ceiling.status_code}")
    mine = set(service.headers.keys()) - _OPTIONAL
    theirs = set(ceiling.headers.keys()) - _OPTIONAL
    if mine != theirs:
        found.append(
            f"headers only the service sends {sorted(mine - theirs)}, "
            f"only the ceiling {sorted(theirs - mine)}"
        )
    for name in sorted(_SAME_VALUE & mine & theirs):
        if service.headers[name] != ceiling.headers[name]:
            found.append(f"{name}: {service.headers[name]!r} vs {ceiling.headers[name]!r}")
    if "x-changes-cursor" in mine & theirs:
        cursors = [r.headers["x-changes-cursor"] for r in (service, ceiling)]
        if _user_epoch(cursors[0]) != _user_epoch(cursors[1]):
            found.append(f"x-changes-cursor epochs: {cursors[0]!r} vs {cursors[1]!r}")
    return found + _json_differences(service.json(), ceiling.json(), _MAY_DIFFER[method])


def _user_epoch(cursor: str) -> bytes:
    """The user's epoch in a cursor; its position is the service's horizon's, held in memory,
    which the ceiling leaves out."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))[:4]


def _json_differences(mine: Any, theirs: Any, may_differ: set[str]) -> list[str]:
    if isinstance(mine, list) and isinstance(theirs, list):
        if len(mine) != len(theirs):
            return [f"{len(mine)} items vs {len(theirs)}"]
        pairs = zip(mine, theirs, strict=True)
        return [found for a, b in pairs for found in _json_differences(a, b, may_differ)]
    if not (isinstance(mine, dict) and isinstance(theirs, dict)):
        return [] if mine == theirs else [f"{mine!r} vs {theirs!r}"]
    if list(mine) != list(theirs):
        return [f"fields {list(mine)} vs {list(theirs)}"]
    return [
        f"{name}: {mine[name]!r} vs {theirs[name]!r}"
        for name in mine
        if name not in may_differ and mine[name] != theirs[name]
    ]


def _send(base: str, request: dict[str, Any]) -> httpx.Response:
    return httpx.request(
        request["method"],
        base + request["path"].replace("ID", str(request.get("ids", (0, 0))[0])),
        headers={"Authorization": f"Bearer {request['token']}", "Content-Type": "application/json"},
        content=request.get("body") or None,
        timeout=30,
    )


def check(service: str, ceiling: str, requests: dict[str, dict[str, Any]]) -> None:
    """Send each of `requests` (name → wrk's request: method, path, token, body, ids) to both
    servers, and stop the run if any answer differs. A toggle goes to the service twice first,
    so that the ceiling's flips the task as the service's first did."""
    problems = []
    for name, request in requests.items():
        mine = _send(service, request)
        if request["method"] == "PATCH":
            _send(service, request)
        theirs = _send(ceiling, request)
        problems += [f"{name}: {found}" for found in _differences(mine, theirs, request["method"])]
    if problems:
        sys.exit("The ceiling does not answer as the service does:\n" + "\n".join(problems))
