"""The sweeper's request body and the scheduler jobs make run reads from terraform/."""

from __future__ import annotations

import json

import flask
import pytest

from infra.scheduler import load_jobs
from sharecast.errors import BadRequest
from sharecast.sweeper.envelope import parse_sweep
from sharecast.sweeper.report import SweepKind

app = flask.Flask(__name__)


def parse(data: bytes) -> SweepKind:
    with app.test_request_context("/", method="POST", data=data):
        return parse_sweep(flask.request)


@pytest.mark.parametrize("kind", list(SweepKind))
def test_each_sweep_kind_parses(kind):
    assert parse(f'{{"sweep": "{kind.value}"}}'.encode()) is kind


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"null",
        b"[]",
        b'"minutely"',
        b"{",
        b'{"sweep": "weekly"}',
        b'{"sweep": ["daily"]}',
        b'{"sweep": "daily", "dry_run": true}',
        b"{}",
    ],
)
def test_anything_else_is_a_bad_request(data):
    with pytest.raises(BadRequest):
        parse(data)


def test_every_scheduler_job_body_is_a_sweep_the_sweeper_accepts():
    jobs = load_jobs()
    assert {job.name for job in jobs} == {"sweep-minutely", "sweep-daily"}
    kinds = {parse(json.dumps(job.body).encode()) for job in jobs}
    assert kinds == set(SweepKind)
    assert next(j for j in jobs if j.name == "sweep-minutely").schedule == "* * * * *"
