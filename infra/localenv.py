"""Ports and environment of the local stack (docs/local-stack.md). Every port is overridable by
env."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields

#: Development-only secrets. They protect nothing but the loopback stack.
DEV_JWT_SECRET = "sharecast-local-dev-jwt-secret-not-for-production"
DEV_INTERNAL_SECRET = "sharecast-local-internal-secret"
DEV_TOKEN_KEY = "local:-jXX2FWS0oLm67wIrVhWAsT7xhr37_i7nDGM2OH0kVU"
#: Any key works with the sandbox's videos.list; it only has to be present, as with Google.
DEV_YOUTUBE_API_KEY = "sandbox-youtube-data-api-key"
#: Key of a fake service account that signs media URLs locally (the Storage emulator ignores
#: signatures; tests verify them with this key's public half).
DEV_MEDIA_SIGNER_EMAIL = "media-signer@sharecast-local.iam.gserviceaccount.com"
DEV_MEDIA_SIGNER_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCfWOEfpBFy5zH/
3yPYecWyEfL7bfCYGJsghn7e05gs5hQhFHjrTH74cTvHGHAyGHS1z9PLadyJlcxN
yn//yHCr2RKAgN2V2T9/YKssJ3CuJ40dbe96Zj8txePTQmzA2xoHPxdMNQymJ+eE
lHEtVGwrD/s4lJDpPWpQqp48d401mWwGBJSySrLhhCqhZqs03A0xmSt+DKBV8Ibb
rcyzQ2L9O9wPQSky+9jpSqh7ZLHPfeXy5D612979COdIc9JKCIPyb5dAtgm+FbnQ
NNme5rpnr32RFxdyRqW58VYwDcjgemp5gAdjcE5npVRF/EFnj6Vt2w1fAXNbETH9
4TWUFDX3AgMBAAECggEAR15+jjZk3krwmQKvQmDgC+6AHt7R2L2ElV/H6TNqQAnY
0CwkMHc1kz7cIEMw1S8g7uGjocLLVRAzzk+5Xq2+0SlLYSTWmiwQhZOddww/KrFq
QdkgXnj3KSAt90wT+5jmooI+hBJqlOzghAAcZMogHHVu9puL//tS58hTUQ/Wvj9A
pdoyb9HVpF1JVEhgPwFZxv9aiJKuGOECLASSkuuP0CjTgRWPYgO/216Qo/OBmrvA
vnUkpXJke0YZpzyatenj7j6Kc2jFeKIL6V3PVrcnodOdxQKk/Jt0sQVyUKMjOJEr
8Tt6b435oGReKZ3DvLiKbbsqsLXB9qPs6BwHmv8SaQKBgQDaoOx2zgviYlundobz
MNP4Du15KfrvH3sGbuW63K0ltcvjuJiNXItaOL5jMcLDQVdEmhJv8tBvvl9yAGZv
3DshRxQ5rp10/T1tx/9E4wxY6nrKJP3pX6oBVUdcK6mpNgzoxSPkVFn1yohNtGbS
n44K08IaR4o6cOPFqzK+2RzASwKBgQC6ldS00w2WMTcqwxvkXGIUskJUE5tw+XyQ
yT1VMr63w+L0zp8Lxaq/FDH8gvUKzUg9DHki0pPCgJ30iGfKjudQyg1dHhubwwVP
74e0WmVB/MoX+8n41b2+/4U4u3Dvy+E1mQypV6nVJM0mZutNAfdoQm7nfkUcouyi
t9v7v9GNhQKBgEvIbk78OzhcucKBnmOb8E3S9tQCDj5nHiDrvewY5Ffm/WbRLOgL
RS6f7ra5n/ZIpvRbp7pwY3nodnMw2lE5+LEfT05zTZco1OtB4SVCwpvro2aAjhcg
FvDhW5wCcov59V2WQEu8RXainr64os+tiPIN1wF+/NYnHXz+S9fFsGajAoGAelHH
hFPoUFIrbGlEW80Er7S9Lwk7mjC0rOaAwt3lketlWkAqnDkV2vaOXpArvM0fUoZe
06lhHN3cr3bNNEnC83/Ciw015ENRtDm/qUipoTzr8BUtL2hQYGp7F9oqC8qI9e5E
ErBZslXR+B74mx9y5nLG6hQpksBsibAnEz+JTVECgYEA1y4gYp3c7nOUcQl5D3Ex
0fNMHA7EY/ySYaoeOEVqreAODtw56DkDK0cu718g8k7CcQLCRmu3/Futu9w7rG7e
rdq+AJPUYVZrB7wUvImBmBSosQeFbv9L4c3ry32LTLtYeUNPuLU2iNEABpuetfSV
b3ILDO2I/iDC4kU9S4XzgyY=
-----END PRIVATE KEY-----
"""
MEDIA_BUCKET = "sharecast-media-local"
PROJECT = "sharecast-local"
#: Issuer and audience of local user tokens (checked like a real identity provider's).
DEV_JWT_ISSUER = "https://sharecast.local/dev-issuer"
DEV_JWT_AUDIENCE = "sharecast-api"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    """TCP ports of every local service (defaults from docs/local-stack.md)."""

    api: int = 8080
    publisher: int = 8081
    sweeper: int = 8082
    media_finalized: int = 8083
    webhook_delivery: int = 8084
    relay: int = 8090
    sandbox: int = 8099
    firestore: int = 8681
    pubsub: int = 8682
    tasks: int = 8683
    storage: int = 8684
    #: The CORS-answering front of the Storage emulator: signed URLs point here.
    storage_cors: int = 8685
    #: The web console (static files, ``/config.json`` and the dev sign-in).
    console: int = 8088

    @classmethod
    def from_env(cls, offset: int = 0) -> Ports:
        """Defaults shifted by ``offset``, each overridable by ``{NAME}_PORT`` (``API_PORT``...)."""
        values = {}
        for f in fields(cls):
            default = int(str(f.default)) + offset
            values[f.name] = int(os.environ.get(f"{f.name.upper()}_PORT", default))
        return cls(**values)


#: Seconds the local stack waits after an unknown outcome before checking the sandbox.
LOCAL_SETTLE_S = 15
SETTLE_NETWORKS = ("facebook", "instagram", "threads", "linkedin", "x", "youtube")


def service_env(ports: Ports, project: str = PROJECT) -> dict[str, str]:
    """Environment for every process of the stack (functions, relay, tests' clients)."""
    return {
        "GOOGLE_CLOUD_PROJECT": project,
        "NO_GCE_CHECK": "True",
        "FIRESTORE_EMULATOR_HOST": f"{HOST}:{ports.firestore}",
        "PUBSUB_EMULATOR_HOST": f"{HOST}:{ports.pubsub}",
        "STORAGE_EMULATOR_HOST": f"http://{HOST}:{ports.storage}",
        "CLOUD_TASKS_EMULATOR_HOST": f"{HOST}:{ports.tasks}",
        "PUBLISHER_URL": f"http://{HOST}:{ports.publisher}",
        "WEBHOOK_DELIVERY_URL": f"http://{HOST}:{ports.webhook_delivery}",
        # Local only (docs/webhooks.md#ssrf): endpoints may be http:// on 127.0.0.1 (the
        # sandbox's receiver); every other private or reserved address stays refused.
        "WEBHOOK_ALLOW_LOCAL": "true",
        "JWT_SECRET": DEV_JWT_SECRET,
        "JWT_ISSUER": DEV_JWT_ISSUER,
        "JWT_AUDIENCE": DEV_JWT_AUDIENCE,
        "INTERNAL_AUTH_SECRET": DEV_INTERNAL_SECRET,
        "TOKEN_ENCRYPTION_KEYS": DEV_TOKEN_KEY,
        "FACEBOOK_GRAPH_BASE_URL": f"http://{HOST}:{ports.sandbox}",
        "X_API_BASE_URL": f"http://{HOST}:{ports.sandbox}",
        "INSTAGRAM_API_BASE_URL": f"http://{HOST}:{ports.sandbox}/instagram",
        "THREADS_API_BASE_URL": f"http://{HOST}:{ports.sandbox}/threads",
        "LINKEDIN_API_BASE_URL": f"http://{HOST}:{ports.sandbox}/linkedin",
        "YOUTUBE_API_BASE_URL": f"http://{HOST}:{ports.sandbox}",
        "CONTAINER_POLL_S": "2",
        "YOUTUBE_API_KEY": DEV_YOUTUBE_API_KEY,
        "SANDBOX_CONNECTIONS": "true",
        **oauth_env(ports),
        "PLATFORM_HTTP_TIMEOUT_S": "10",
        "LEASE_S": "30",
        # The sandbox finishes a request within its injected latency, so a short settle window
        # after an unknown outcome is enough locally (docs/local-stack.md); production keeps
        # each network's own (docs/networks.md#settle-windows).
        "SETTLE_WINDOWS": json.dumps({p: LOCAL_SETTLE_S for p in SETTLE_NETWORKS}),
        "MEDIA_BUCKET": MEDIA_BUCKET,
        "MEDIA_SIGNER_EMAIL": DEV_MEDIA_SIGNER_EMAIL,
        "MEDIA_SIGNER_KEY": DEV_MEDIA_SIGNER_KEY,
        "MEDIA_URL_ENDPOINT": f"http://{HOST}:{ports.storage_cors}",
        "CORS_ALLOWED_ORIGINS": ",".join(dev_origins(ports)),
    }


#: Ports browser dev servers usually take (Vite, Create React App/Next.js, Angular, Django,
#: webpack-dev-server, http.server, Flask, Jupyter...): pages served there may call the local
#: stack without any CORS setting.
COMMON_DEV_PORTS = (3000, 3001, 4200, 4173, 5000, 5173, 5174, 8000, 8001, 8008, 8888, 9000)


def dev_origins(ports: Ports) -> list[str]:
    """Browser origins the local API, relay and Storage front allow: the console's and the
    common dev ports, each as ``http://localhost:N`` and ``http://127.0.0.1:N`` (two different
    origins to a browser). ``CORS_EXTRA_ORIGINS`` (comma separated) adds more."""
    extra = [o.strip() for o in os.environ.get("CORS_EXTRA_ORIGINS", "").split(",") if o.strip()]
    hosts = ("127.0.0.1", "localhost")
    local = [f"http://{h}:{port}" for port in (ports.console, *COMMON_DEV_PORTS) for h in hosts]
    return list(dict.fromkeys([*local, *extra]))


#: The sandbox's OAuth paths of each network (``infra/sandbox/oauth.py``), as in production.
SANDBOX_OAUTH_PATHS = {
    "facebook": ("/v24.0/dialog/oauth", "/v24.0/oauth/access_token", "/v24.0"),
    "threads": ("/oauth/authorize", "/oauth/access_token", ""),
    "linkedin": ("/oauth/v2/authorization", "/oauth/v2/accessToken", ""),
    "x": ("/i/oauth2/authorize", "/2/oauth2/token", ""),
    "youtube": ("/o/oauth2/v2/auth", "/token", ""),
}


def oauth_env(ports: Ports) -> dict[str, str]:
    """OAuth settings of the local stack: dev client credentials, every endpoint on the sandbox,
    and the console as the callback base URL."""
    sandbox = f"http://{HOST}:{ports.sandbox}"
    # The networks send the browser back to the console, which forwards ``code`` and ``state``
    # to the API (``GET /connections/{platform}/callback``), as a production web app does.
    env = {"OAUTH_CALLBACK_BASE_URL": f"http://{HOST}:{ports.console}"}
    for platform, (authorize, token, api) in SANDBOX_OAUTH_PATHS.items():
        prefix = platform.upper()
        env[f"{prefix}_CLIENT_ID"] = f"sandbox-{platform}-client"
        env[f"{prefix}_CLIENT_SECRET"] = f"sandbox-{platform}-secret-not-for-production"
        env[f"{prefix}_OAUTH_AUTHORIZE_URL"] = sandbox + authorize
        env[f"{prefix}_OAUTH_TOKEN_URL"] = sandbox + token
        env[f"{prefix}_OAUTH_API_BASE_URL"] = sandbox + api
    return env
