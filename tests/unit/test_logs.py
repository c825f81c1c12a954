import json
import logging

from sharecast.logs import _ExtraFields, fields


def render(**extra) -> dict:
    record = logging.makeLogRecord({"msg": "hello", "levelname": "INFO", **extra})
    _ExtraFields().filter(record)
    return getattr(record, "json_fields", {})


def test_plain_extras_become_structured_fields_and_credentials_are_redacted():
    out = render(task="t1", access_token="secret-value", color_message="x")
    assert out == {"task": "t1", "access_token": "[redacted]"}
    assert "secret-value" not in json.dumps(out)


def test_fields_helper_redacts_and_wins_over_plain_extras():
    out = render(**fields(post_id="p1", authorization="Bearer abc"), post="x")
    assert out == {"post": "x", "post_id": "p1", "authorization": "[redacted]"}
