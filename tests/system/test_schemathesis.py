"""Schemathesis against a live `todo-api serve`: no server errors, no undeclared responses.

The schema is read from the running service, so every endpoint it serves is covered, including
ones added later. Schemathesis's engine runs all its phases, as its CLI does: the schema's
examples, boundary coverage, fuzzing (valid and invalid data) and stateful sequences over the
links it infers (create → read/update/toggle/delete through the returned `id`), with every
check. Requests carry a valid token. Runs are seeded and bounded, so CI is repeatable.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import StopReason, events

from tests.conftest import make_token
from tests.system.conftest import FIGURES, Server, StartServer

OWNER = "alice"
SEED = 20261125
ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 412, 429, "5xx"]
MAX_EXAMPLES = 100  # per operation and phase
# Another user's path is refused before its body or query is looked at, so more examples of
# those test the same refusal again.
MAX_INTRUDER_EXAMPLES = 25


@schemathesis.check
def other_users_paths_are_refused(_ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """No 2xx for a path whose `{user_id}` is not the caller's (the token is always OWNER's)."""
    user_id = (case.path_parameters or {}).get("user_id")
    if user_id is not None and user_id != OWNER and response.status_code < 300:
        raise AssertionError(f"{case.path} for user {user_id!r} answered {response.status_code}")


@dataclass
class Run:
    """What one schemathesis run did and found."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stateful_links: int = 0


def run_schemathesis(server: Server, *, pin_owner: bool, max_examples: int = MAX_EXAMPLES) -> Run:
    """Run every phase against the server; `pin_owner` fixes `{user_id}` to the token's user."""
    config: dict[str, Any] = {
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {make_token(OWNER)}"},
        "request-timeout": 10,
        "generation": {"mode": "all", "max-examples": max_examples},
        # A stale `If-Match` is refused with 412 whatever the data: a precondition, not a
        # rejection of a valid request.
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        # Rules that depend on state a schema cannot express answer 422 to schema-valid data:
        # an Idempotency-Key reused with another body, a cursor this service did not issue (or
        # for another sort), a password on the common-passwords list; and, in any task body,
        # rules across fields or values: a `due_date` that is not the UTC day of `due_at`, more
        # than 20 tags once duplicates (ignoring case) are dropped.
        # Stateful sequences combine fields the same way (a `due_date` contradicting `due_at`,
        # a replayed key): there 422 is allowed too; every other check still applies.
        "phases": {
            "stateful": {
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}}
            }
        },
        "operations": [
            {
                "include-name": name,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}},
            }
            for name in (
                "POST /api/{user_id}/tasks",
                "PUT /api/{user_id}/tasks/{task_id}",
                "PATCH /api/{user_id}/tasks/{task_id}",
                "GET /api/{user_id}/tasks",
                "POST /api/auth/sign-up",
                # A webhook URL the schema allows may still be refused: not http(s), or a
                # host without a public address.
                "POST /api/{user_id}/webhooks",
            )
        ]
        + [
            # A move to where a task cannot go (under itself, five levels deep, next to a task
            # of another parent) is 422. A move names a neighbour too: a 404 for an unknown
            # `after_id` or `before_id` is about that one, not the resource in the path.
            {
                "include-name": name,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]},
                    "ensure_resource_availability": {"enabled": False},
                },
            }
            for name in (
                "POST /api/{user_id}/tasks/{task_id}/move",
                "POST /api/{user_id}/lists/{list_id}/move",
            )
        ]
        + [
            # A `since` shaped like a cursor but never issued: 422; one of another log: 410.
            {
                "include-name": "GET /api/{user_id}/changes",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 410, 422]}
                },
            },
            # `/` also answers CalDAV's PROPFIND (clients given the bare host discover there),
            # a method OpenAPI cannot describe; tests/calendars covers it.
            {
                "include-name": "GET /",
                "checks": {"allow_header_conformance": {"enabled": False}},
            },
            # An event stream never ends, so no response would ever be complete to check:
            # tests/system/test_events.py covers it, its refusals (401, 403, 410, 422) too.
            {"include-name": "GET /api/{user_id}/events", "enabled": False},
        ],
    }
    if pin_owner:
        config["parameters"] = {"user_id": OWNER}
    schema = schemathesis.openapi.from_url(
        f"{server.url}/openapi.json",
        config=schemathesis.config.SchemathesisConfig.from_dict(config),
    )
    run = Run()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for interaction in recorder.interactions.values():
                run.requests += 1
                if interaction.response is not None:
                    run.statuses[interaction.response.status_code] += 1
            for checks in recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        status = getattr(failure, "status_code", None)
                        run.failures.append(
                            f"{recorder.label}: {failure.title} (status {status}): "
                            f"{failure.message}\n    {check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.PhaseStarted) and event.payload is not None:
            run.stateful_links = event.payload.transitions_selected
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            run.errors.append(repr(event.exception))
        elif isinstance(event, events.EngineFinished):
            assert event.stop_reason == StopReason.COMPLETED, event.stop_reason
            run.failures.extend(f.title for f in event.failures)
    FIGURES["schemathesis requests"] += run.requests
    FIGURES["schemathesis server errors (5xx)"] += sum(
        count for status, count in run.statuses.items() if status >= 500
    )
    return run


@pytest.fixture
def api_server(start_server: StartServer, database_url: str) -> Server:
    # Webhook hosts are not looked up (the fuzzer's random names would each wait for DNS), and
    # nothing is sent to them.
    # Schemathesis sends wrong Basic credentials on purpose, from one address: the sign-in
    # throttle would answer them 429 before long (tests/accounts covers that).
    return start_server(
        database_url,
        webhook_allow_private="true",
        background_jobs="false",
        login_max_failures_per_ip="1000000",
        login_max_failures_per_account="1000000",
    )


@pytest.mark.slow
def test_owner_requests_get_only_declared_responses(api_server: Server) -> None:
    run = run_schemathesis(api_server, pin_owner=True)
    print(f"schemathesis as the owner: {run.requests} requests, statuses {dict(run.statuses)}")
    assert not run.errors, "\n".join(run.errors)
    assert not run.failures, "\n".join(sorted(set(run.failures)))
    assert run.stateful_links > 0, "no links inferred: the stateful phase tested nothing"
    # The run reached the owner's data: tasks were created, read and deleted.
    assert {200, 201, 204} <= run.statuses.keys(), run.statuses
    assert not [status for status in run.statuses if status >= 500]


@pytest.mark.slow
def test_other_users_paths_get_only_declared_refusals(api_server: Server) -> None:
    run = run_schemathesis(api_server, pin_owner=False, max_examples=MAX_INTRUDER_EXAMPLES)
    print(f"schemathesis as an intruder: {run.requests} requests, statuses {dict(run.statuses)}")
    assert not run.errors, "\n".join(run.errors)
    assert not run.failures, "\n".join(sorted(set(run.failures)))
    assert run.statuses[403] > 0, run.statuses
    assert not [status for status in run.statuses if status >= 500]
