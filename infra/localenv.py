"""Ports and environment of the local stack (SPEC §9). Every port is overridable by env."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

#: Development-only secrets. They protect nothing but the loopback stack.
DEV_JWT_SECRET = "sharecast-local-dev-jwt-secret-not-for-production"
DEV_INTERNAL_SECRET = "sharecast-local-internal-secret"
DEV_TOKEN_KEY = "local:-jXX2FWS0oLm67wIrVhWAsT7xhr37_i7nDGM2OH0kVU"
PROJECT = "sharecast-local"
#: Issuer and audience of local user tokens (checked like a real identity provider's).
DEV_JWT_ISSUER = "https://sharecast.local/dev-issuer"
DEV_JWT_AUDIENCE = "sharecast-api"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    """TCP ports of every local service (defaults from SPEC §9)."""

    api: int = 8080
    publisher: int = 8081
    sweeper: int = 8082
    media_finalized: int = 8083
    relay: int = 8090
    sandbox: int = 8099
    firestore: int = 8681
    pubsub: int = 8682
    tasks: int = 8683
    storage: int = 8684

    @classmethod
    def from_env(cls, offset: int = 0) -> Ports:
        """Defaults shifted by ``offset``, each overridable by ``{NAME}_PORT`` (``API_PORT``...)."""
        values = {}
        for f in fields(cls):
            default = int(str(f.default)) + offset
            values[f.name] = int(os.environ.get(f"{f.name.upper()}_PORT", default))
        return cls(**values)


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
        "JWT_SECRET": DEV_JWT_SECRET,
        "JWT_ISSUER": DEV_JWT_ISSUER,
        "JWT_AUDIENCE": DEV_JWT_AUDIENCE,
        "INTERNAL_AUTH_SECRET": DEV_INTERNAL_SECRET,
        "TOKEN_ENCRYPTION_KEYS": DEV_TOKEN_KEY,
        "FACEBOOK_GRAPH_BASE_URL": f"http://{HOST}:{ports.sandbox}",
        "X_API_BASE_URL": f"http://{HOST}:{ports.sandbox}",
        "SANDBOX_CONNECTIONS": "true",
        **oauth_env(ports),
        "PLATFORM_HTTP_TIMEOUT_S": "10",
        "LEASE_S": "30",
    }


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
    and the api itself as the callback base URL (the README's curl walk-through)."""
    sandbox = f"http://{HOST}:{ports.sandbox}"
    env = {"OAUTH_CALLBACK_BASE_URL": f"http://{HOST}:{ports.api}"}
    for platform, (authorize, token, api) in SANDBOX_OAUTH_PATHS.items():
        prefix = platform.upper()
        env[f"{prefix}_CLIENT_ID"] = f"sandbox-{platform}-client"
        env[f"{prefix}_CLIENT_SECRET"] = f"sandbox-{platform}-secret-not-for-production"
        env[f"{prefix}_OAUTH_AUTHORIZE_URL"] = sandbox + authorize
        env[f"{prefix}_OAUTH_TOKEN_URL"] = sandbox + token
        env[f"{prefix}_OAUTH_API_BASE_URL"] = sandbox + api
    return env
