"""Schemathesis against the running api's ``/openapi.json``: positive and negative cases of
every operation, with valid dev tokens of several users (so cases get past auth and no user's
rate limit is hit), checking for 5xx and for answers that break the document."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation

from sharecast.auth import issue_dev_token
from sharecast.config import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@schemathesis.check
def body_query_path_negatives_are_rejected(
    ctx: Any, response: Any, case: schemathesis.Case
) -> bool | None:
    """schemathesis' ``negative_data_rejection`` for cases whose invalid parts are in the
    body, the query string or the path: the API must refuse them (4xx). Cases with an invalid
    header are not judged: the harness always sends its own valid ``Authorization``, which
    replaces a mutated or dropped one, so "invalid request accepted" would be its doing."""
    meta = case.meta
    if meta is None:
        return None
    negative = {loc for loc, info in meta.components.items() if info.mode.is_negative}
    if not negative or ParameterLocation.HEADER in negative:
        return None
    if response.status_code == 413:
        # Refused for its size before validation (MAX_CONTENT_LENGTH), as the document says
        # every body route may answer; schemathesis' default list of refusals lacks 413.
        return True
    return negative_data_rejection(ctx, response, case)


#: Negative cases may put bytes such as a newline into a path segment; functions-framework's
#: own router (outside our app) answers those with its HTML 404 before the API sees them. Every
#: answer of the API itself is still checked for its content type by the positive cases.
#: Invalid data is judged where the harness does not interfere (see
#: :func:`body_query_path_negatives_are_rejected`); unknown fields, bad tokens and bad values
#: are also refused by their own tests (auth matrix, input limits, the 422 contract).
NEGATIVE_CHECKS = [
    *(c for c in CHECKS if c not in (content_type_conformance, negative_data_rejection)),
    body_query_path_negatives_are_rejected,
]
#: Headers that frame the HTTP message itself. A negative case that sets one (an empty
#: ``Content-Length``) is refused by the HTTP server (gunicorn's HTML 400) before the API
#: exists for it, so such cases test the server, not the document; they are not sent.
FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade", "te"}
)


def sends_no_framing_header(case: schemathesis.Case) -> bool:
    """True unless ``case`` sets a header of :data:`FRAMING_HEADERS`."""
    return not any(name.lower() in FRAMING_HEADERS for name in (case.headers or {}))


@dataclass
class FuzzReport:
    """What a run did: cases sent, per operation and per status, and how long it took."""

    cases: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


def fuzz(base_url: str, *, cases: int, users: int = 40, seed: int = 8) -> FuzzReport:
    """Send about ``cases`` generated requests to ``base_url``; raises on the first failed
    check (schemathesis' ``FailureGroup``, with a reproducing curl command)."""
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    settings = Settings()
    tokens = [
        issue_dev_token(settings, user_id=f"fuzz-{n}", role=("user", "admin", "viewer")[n % 3])
        for n in range(users)
    ]
    session = requests.Session()
    report = FuzzReport()
    started = time.monotonic()
    runs = [(operation, mode) for operation in operations for mode in modes]
    for index, (operation, mode) in enumerate(runs):
        # Operations with few distinct inputs (no parameters) run out of cases early; the
        # budget of each run is what is left, shared by the runs still to come.
        budget = max(1, math.ceil((cases - report.cases) / (len(runs) - index)))
        label = f"{operation.label} {mode.value}"

        @hsettings(
            max_examples=budget,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode).filter(sends_no_framing_header))
        def run(case: schemathesis.Case) -> None:
            token = tokens[report.cases % len(tokens)]
            response = case.call_and_validate(
                base_url=base_url,
                session=session,
                headers={"Authorization": f"Bearer {token}"},
                checks=CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS,  # noqa: B023 - run() is called in this iteration
                timeout=60,
            )
            report.cases += 1
            status = response.status_code
            report.by_status[status] = report.by_status.get(status, 0) + 1

        before = report.cases
        # Unsatisfiable: e.g. no negative input exists for an operation without parameters.
        with contextlib.suppress(Unsatisfiable):
            run()
        report.by_operation[label] = report.cases - before
    report.seconds = time.monotonic() - started
    return report
