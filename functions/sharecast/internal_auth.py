"""Who may call the internal entry points, each checked against the identity that calls it in
production (``terraform/`` configures both sides; ``tests/unit/terraform`` keeps them equal):

- ``publisher`` <- Cloud Tasks (``sharecast.tasks`` creates the tasks): audience
  ``PUBLISHER_URL``, account ``TASKS_INVOKER_SERVICE_ACCOUNT``;
- ``sweeper`` <- Cloud Scheduler (``terraform/scheduler.tf``): audience ``SWEEPER_URL`` (its own
  URL), account ``SCHEDULER_INVOKER_SERVICE_ACCOUNT``;
- ``webhook_delivery`` <- Cloud Tasks, queue ``webhooks`` (``sharecast.tasks.enqueue_webhook``):
  audience ``WEBHOOK_DELIVERY_URL``, account ``WEBHOOK_INVOKER_SERVICE_ACCOUNT``;
- ``media_finalized`` <- Eventarc (a Pub/Sub push subscription of the trigger): audiences
  ``MEDIA_FINALIZED_AUDIENCES`` (the function's Cloud Run URLs), account
  ``EVENTARC_TRIGGER_SERVICE_ACCOUNT`` (the trigger's).

In production (the account is set) every request must carry ``Authorization: Bearer <ID token>``
signed by Google (certificates from ``GOOGLE_OIDC_CERTS_URL``), issued by
``https://accounts.google.com``, for one of the entry point's audiences, with a verified ``email``
equal to the account. Cloud Run IAM checks the token at the door already; checking it again
here means a mis-set IAM binding cannot open the function to another caller. Locally
(``INTERNAL_AUTH_SECRET``) the shared secret header is required instead; with neither, the
request is accepted (Cloud Run IAM alone guards the function).

Sources: https://cloud.google.com/tasks/docs/creating-http-target-tasks#token,
https://cloud.google.com/scheduler/docs/http-target-auth#token,
https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions (Eventarc delivers through a
push subscription whose OIDC token names the trigger's service account),
https://cloud.google.com/run/docs/authenticating/service-to-service.

Google's certificates are fetched through a ``CacheControl`` session, as google-auth documents
for :mod:`google.oauth2.id_token`
(https://googleapis.dev/python/google-auth/latest/reference/google.oauth2.id_token.html): they
are reused for as long as the endpoint's ``Cache-Control: max-age`` allows, so a verification
costs no HTTP round trip per task.
"""

from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import cachecontrol
import google.auth.transport.requests
import requests
from flask import Request
from google.auth import exceptions as auth_exceptions
from google.oauth2 import id_token

from sharecast.config import Settings
from sharecast.errors import Unauthenticated
from sharecast.tasks import INTERNAL_AUTH_HEADER

#: The ``iss`` of Google-signed ID tokens (both spellings occur).
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")


@dataclass(frozen=True)
class InternalCaller:
    """The production identity allowed to call one internal entry point.

    ``audiences``: accepted ``aud`` values (URLs, compared without query string or trailing
    slash); ``account``: the service account e-mail in the token, or ``None`` when OIDC is not
    configured (local stack: the shared secret applies).
    """

    entry_point: str
    audiences: tuple[str, ...]
    account: str | None


def publisher_caller(settings: Settings) -> InternalCaller:
    """Cloud Tasks: tasks carry a token for ``PUBLISHER_URL`` of the tasks-invoker account
    (``sharecast.tasks`` puts both on every task it creates)."""
    return InternalCaller(
        "publisher", (settings.publisher_url,), settings.tasks_invoker_service_account
    )


def webhook_delivery_caller(settings: Settings) -> InternalCaller:
    """Cloud Tasks, webhook queue: tasks carry a token for ``WEBHOOK_DELIVERY_URL`` of the
    webhook-invoker account (``sharecast.tasks.enqueue_webhook`` puts both on every task)."""
    return InternalCaller(
        "webhook_delivery",
        (settings.webhook_delivery_url,),
        settings.webhook_invoker_service_account,
    )


def sweeper_caller(settings: Settings) -> InternalCaller:
    """Cloud Scheduler: ``terraform/scheduler.tf`` sends a token for the sweeper's own URL
    (``SWEEPER_URL``) of the scheduler-invoker account."""
    return InternalCaller(
        "sweeper", (settings.sweeper_url,), settings.scheduler_invoker_service_account
    )


def media_finalized_caller(settings: Settings) -> InternalCaller:
    """Eventarc: the trigger's service account, for the function's Cloud Run URL
    (``MEDIA_FINALIZED_AUDIENCES``)."""
    return InternalCaller(
        "media_finalized",
        tuple(settings.media_finalized_audiences),
        settings.eventarc_trigger_service_account,
    )


@functools.cache
def _certs_transport() -> google.auth.transport.requests.Request:
    """google-auth's requests transport over a CacheControl session (built once, lazily)."""
    return google.auth.transport.requests.Request(
        session=cachecontrol.CacheControl(requests.session())
    )


def _normalized(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def verify_internal_caller(request: Request, settings: Settings, *, caller: InternalCaller) -> str:
    """Check the caller of an internal entry point; returns who it is (for logs):
    ``oidc:<email>``, ``secret`` or ``unchecked``.

    Raises :class:`Unauthenticated` (401) for a missing, invalid, expired, forged, foreign
    (other audience or issuer) or wrong-account token, or a wrong shared secret.
    """
    if caller.account:
        return _verify_oidc(request, settings, caller=caller, account=caller.account)
    secret = settings.internal_auth_secret
    if secret is None:
        return "unchecked"
    given = request.headers.get(INTERNAL_AUTH_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise Unauthenticated("internal caller not authenticated")
    return "secret"


def _verify_oidc(
    request: Request, settings: Settings, *, caller: InternalCaller, account: str
) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("an OIDC bearer token is required")
    try:
        claims = id_token.verify_token(
            token.strip(),
            _certs_transport(),
            audience=None,  # checked below, against every accepted form
            certs_url=settings.google_oidc_certs_url,
            clock_skew_in_seconds=settings.jwt_leeway_s,
        )
    except (ValueError, auth_exceptions.GoogleAuthError) as exc:
        raise Unauthenticated(f"invalid OIDC token: {type(exc).__name__}") from exc
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise Unauthenticated("the OIDC token was not issued by Google")
    audience = claims.get("aud")
    accepted = {_normalized(a) for a in caller.audiences}
    if not isinstance(audience, str) or _normalized(audience) not in accepted:
        raise Unauthenticated(f"the OIDC token is not for the {caller.entry_point}")
    if claims.get("email_verified") is not True or claims.get("email") != account:
        raise Unauthenticated(f"the OIDC token is not from the {caller.entry_point}'s caller")
    return f"oidc:{account}"
