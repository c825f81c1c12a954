"""One HTTP attempt of an HTTP-target task: the outbound request and its outcome.

Request composition follows ``HttpRequest`` / ``HttpTarget`` in
https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2#httprequest and
the handler headers in https://cloud.google.com/tasks/docs/creating-http-target-tasks#handler:

* ``Host``, ``Content-Length`` are computed; ``User-Agent`` is ``Google-Cloud-Tasks``;
  caller-supplied ``X-Google-*``, ``X-AppEngine-*`` and ``X-CloudTasks-*`` are dropped.
* ``X-CloudTasks-QueueName``: the queue id (last name segment).
* ``X-CloudTasks-TaskName``: the task id (last name segment).
* ``X-CloudTasks-TaskRetryCount``: attempts dispatched before this one (0 on the first).
  All earlier attempts failed, whatever the reason (status, timeout, refused).
* ``X-CloudTasks-TaskExecutionCount``: earlier attempts in which the handler answered
  with a non-5xx status. Google: "The total number of times that the task has received
  a response from the handler [...] This number does not include failures due to 5XX
  error codes." So a 4xx/3xx answer counts; 5xx answers, timeouts and connection
  errors do not.
* ``X-CloudTasks-TaskETA``: the attempt's schedule time, seconds since the Unix epoch
  (UTC) as a decimal string with microseconds, e.g. ``1700000000.123456``.
* ``X-CloudTasks-TaskPreviousResponse`` (only on retries that follow an HTTP answer):
  the previous HTTP status code. ``X-CloudTasks-TaskRetryReason`` (only on retries): a
  short, emulator-worded reason such as ``HTTP 500`` or ``DEADLINE_EXCEEDED``.

OIDC / OAuth: production attaches a Google-signed token. This emulator sends
``Authorization: Bearer emulator-oidc.<base64url JSON claims>`` (or ``emulator-oauth.``)
which is NOT a JWT and NOT signed by Google: handlers that verify tokens must skip
verification locally; the claims (iss, aud, email, iat, exp) are readable for debugging.

The dispatch deadline is applied as the connect and read timeout of ``requests``; like
production ("an approximate deadline") a handler trickling bytes may exceed it.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from dataclasses import dataclass

import requests
from google.cloud import tasks_v2
from google.rpc import code_pb2

USER_AGENT = "Google-Cloud-Tasks"
_DROPPED_HEADERS = frozenset({"host", "content-length", "user-agent"})
_DROPPED_PREFIXES = ("x-google-", "x-appengine-", "x-cloudtasks-")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# HTTP status -> google.rpc.Code, as in google/rpc/code.proto's HTTP mapping.
_HTTP_TO_RPC = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    409: code_pb2.ABORTED,
    429: code_pb2.RESOURCE_EXHAUSTED,
    499: code_pb2.CANCELLED,
    500: code_pb2.INTERNAL,
    501: code_pb2.UNIMPLEMENTED,
    502: code_pb2.UNAVAILABLE,
    503: code_pb2.UNAVAILABLE,
    504: code_pb2.DEADLINE_EXCEEDED,
}


@dataclass(frozen=True)
class OutboundRequest:
    """The HTTP request of one attempt. ``timeout_s`` is the dispatch deadline in seconds."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout_s: float


@dataclass(frozen=True)
class Outcome:
    """Result of one attempt: the HTTP status if the handler answered, else ``None``.

    ``rpc_code`` is the ``google.rpc.Code`` reported in ``Attempt.response_status``.
    """

    http_status: int | None
    rpc_code: int
    detail: str

    @property
    def succeeded(self) -> bool:
        """2xx: the task is acknowledged and removed."""
        return self.http_status is not None and 200 <= self.http_status < 300

    @property
    def reason(self) -> str:
        """Short failure reason (used for ``X-CloudTasks-TaskRetryReason`` and logs)."""
        if self.http_status is not None:
            return f"HTTP {self.http_status}"
        return str(code_pb2.Code.Name(self.rpc_code))


@dataclass(frozen=True)
class AttemptInfo:
    """Task facts that shape the service headers of one attempt."""

    queue_id: str
    task_id: str
    retry_count: int
    execution_count: int
    eta_ns: int
    previous_response: int | None
    retry_reason: str | None
    deadline_s: float


def method_name(method: int) -> str:
    """``HttpMethod`` enum value to verb; unspecified means POST."""
    if method == tasks_v2.HttpMethod.HTTP_METHOD_UNSPECIFIED:
        return "POST"
    return tasks_v2.HttpMethod(method).name


def effective_url(url: str, target: tasks_v2.HttpTarget | None) -> str:
    """Task URL after the queue-level ``HttpTarget.uri_override`` (if any).

    ALWAYS (default) replaces each component the override sets; IF_NOT_EXISTS applies the
    override only when the task has no URL.
    """
    if target is None or "uri_override" not in target:
        return url
    ov = tasks_v2.UriOverride.pb(target.uri_override)
    mode = ov.uri_override_enforce_mode
    if mode == tasks_v2.UriOverride.UriOverrideEnforceMode.IF_NOT_EXISTS and url:
        return url
    parts = urllib.parse.urlsplit(url or "https://localhost/")
    scheme, host, port = parts.scheme, parts.hostname or "", parts.port
    if ov.HasField("scheme"):
        scheme = "http" if ov.scheme == tasks_v2.UriOverride.Scheme.HTTP else "https"
    if ov.HasField("host"):
        host = ov.host
    if ov.HasField("port"):
        port = ov.port or None
    path = ov.path_override.path if ov.HasField("path_override") else parts.path
    query = ov.query_override.query_params if ov.HasField("query_override") else parts.query
    netloc = f"{host}:{port}" if port else host
    return urllib.parse.urlunsplit((scheme, netloc, path, query, parts.fragment))


def build_request(
    http: tasks_v2.HttpRequest, target: tasks_v2.HttpTarget | None, info: AttemptInfo
) -> OutboundRequest:
    """Compose the outbound request of one attempt (see the module docstring)."""
    method = method_name(http.http_method)
    url = effective_url(http.url, target)
    headers = {k: v for k, v in http.headers.items() if _keeps(k)}
    oidc = http.oidc_token if "oidc_token" in http else None
    oauth = http.oauth_token if "oauth_token" in http else None
    if target is not None:
        if target.http_method != tasks_v2.HttpMethod.HTTP_METHOD_UNSPECIFIED:
            method = method_name(target.http_method)
        for override in target.header_overrides:
            if _keeps(override.header.key):
                headers[override.header.key] = override.header.value
        if "oidc_token" in target:
            oidc, oauth = target.oidc_token, None
        elif "oauth_token" in target:
            oidc, oauth = None, target.oauth_token
    if oidc is not None or oauth is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = "Bearer " + _local_token(url, oidc, oauth)
    headers.update(_service_headers(info))
    headers["User-Agent"] = USER_AGENT
    body = http.body if method in _BODY_METHODS else b""
    return OutboundRequest(method, url, headers, body, info.deadline_s)


def _keeps(header: str) -> bool:
    lower = header.lower()
    return lower not in _DROPPED_HEADERS and not lower.startswith(_DROPPED_PREFIXES)


def _service_headers(info: AttemptInfo) -> dict[str, str]:
    seconds, nanos = divmod(info.eta_ns, 1_000_000_000)
    headers = {
        "X-CloudTasks-QueueName": info.queue_id,
        "X-CloudTasks-TaskName": info.task_id,
        "X-CloudTasks-TaskRetryCount": str(info.retry_count),
        "X-CloudTasks-TaskExecutionCount": str(info.execution_count),
        "X-CloudTasks-TaskETA": f"{seconds}.{nanos // 1000:06d}",
    }
    if info.previous_response is not None:
        headers["X-CloudTasks-TaskPreviousResponse"] = str(info.previous_response)
    if info.retry_reason is not None:
        headers["X-CloudTasks-TaskRetryReason"] = info.retry_reason
    return headers


def _local_token(
    url: str, oidc: tasks_v2.OidcToken | None, oauth: tasks_v2.OAuthToken | None
) -> str:
    now = int(time.time())
    if oidc is not None:
        kind = "oidc"
        claims: dict[str, object] = {
            "iss": "https://accounts.google.com",
            "aud": oidc.audience or url,
            "email": oidc.service_account_email,
            "email_verified": True,
        }
    else:
        assert oauth is not None
        kind = "oauth"
        claims = {"email": oauth.service_account_email, "scope": oauth.scope}
    claims.update({"iat": now, "exp": now + 3600, "emulator": True})
    encoded = base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True).encode()).rstrip(b"=")
    return f"emulator-{kind}.{encoded.decode()}"


def deliver(request: OutboundRequest, session: requests.Session) -> Outcome:
    """Perform ``request``; never raises for HTTP or network failures."""
    timeout = (request.timeout_s, request.timeout_s)
    try:
        response = session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body or None,
            timeout=timeout,
        )
        response.close()
    except requests.Timeout:
        return Outcome(None, code_pb2.DEADLINE_EXCEEDED, "dispatch deadline exceeded")
    except requests.ConnectionError as exc:
        return Outcome(None, code_pb2.UNAVAILABLE, f"connection failed: {exc}")
    except requests.RequestException as exc:
        return Outcome(None, code_pb2.UNKNOWN, f"request failed: {exc}")
    status = response.status_code
    if 200 <= status < 300:
        code = code_pb2.OK
    elif status in _HTTP_TO_RPC:
        code = _HTTP_TO_RPC[status]
    elif 400 <= status < 500:
        code = code_pb2.FAILED_PRECONDITION
    elif status >= 500:
        code = code_pb2.INTERNAL
    else:
        code = code_pb2.UNKNOWN
    return Outcome(status, code, f"HTTP {status}")
