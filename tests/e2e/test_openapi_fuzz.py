"""Schemathesis against the stack's ``/openapi.json``: at least 2,000 generated requests, zero
5xx, zero answers outside the document (status, content type, headers, body schema).
``make bench`` runs a larger round (tests/bench/bench_fuzz.py)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import PORTS
from tests.support.fuzz import fuzz

CASES = int(os.environ.get("SHARECAST_FUZZ_CASES", "2000"))


@pytest.mark.timeout(1200)  # about a minute on a quiet machine; generous for a loaded one
@pytest.mark.usefixtures("stack")
def test_generated_requests_never_break_the_contract():
    report = fuzz(f"http://127.0.0.1:{PORTS.api}", cases=CASES)
    print(f"fuzz: {report.cases} cases in {report.seconds:.1f} s; statuses {report.by_status}")
    assert report.cases >= CASES, report.by_operation
    assert not [s for s in report.by_status if s >= 500]
    # The cases reached the handlers, not only the auth layer.
    assert {200, 201, 202, 404, 422} & set(report.by_status)
