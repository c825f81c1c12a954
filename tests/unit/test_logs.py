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


def test_request_urls_lose_their_query_and_traces_are_kept():
    import io

    import flask
    from google.cloud.logging.handlers import StructuredLogHandler

    from sharecast.logs import _RequestUrlWithoutQuery

    stream = io.StringIO()
    handler = StructuredLogHandler(project_id="p", stream=stream)
    handler.addFilter(_ExtraFields())
    handler.addFilter(_RequestUrlWithoutQuery())
    logger = logging.getLogger("test.logs.url")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        app = flask.Flask("t")
        with app.test_request_context(
            "/events?auth_token=eyJsecret.eyJsecret.sig",
            headers={"X-Cloud-Trace-Context": "0123456789abcdef0123456789abcdef/1;o=1"},
        ):
            logger.warning("hello")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert "eyJsecret" not in stream.getvalue()
    assert line["httpRequest"]["requestUrl"] == "http://localhost/events"
    assert (
        line["logging.googleapis.com/trace"] == "projects/p/traces/0123456789abcdef0123456789abcdef"
    )
