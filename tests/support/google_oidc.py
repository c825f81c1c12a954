"""Google-style OIDC ID tokens minted locally, and Google's certificate endpoint served over HTTP.

What Google's infrastructure sends to a private Cloud Run service (Cloud Tasks, Cloud Scheduler,
Eventarc through a Pub/Sub push subscription) is an RS256 JWT signed by one of Google's keys:
header ``{"alg": "RS256", "kid": ..., "typ": "JWT"}``, claims ``iss``
(``https://accounts.google.com``), ``aud`` (the audience the caller was configured with),
``azp`` and ``sub`` (the service account's unique id), ``email`` and ``email_verified``,
``iat`` and ``exp`` (one hour later). See
https://cloud.google.com/run/docs/authenticating/service-to-service and
https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload.

The public halves are served like https://www.googleapis.com/oauth2/v1/certs: a JSON object
``{kid: X.509 certificate PEM}`` with a ``Cache-Control: public, max-age=N`` header saying how
long they may be reused (https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

GOOGLE_ISSUER = "https://accounts.google.com"


@dataclass
class SigningKey:
    """An RSA key with its ``kid`` and a self-signed certificate of its public half."""

    kid: str
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def certificate_pem(self) -> str:
        """The public key as Google serves it at ``/oauth2/v1/certs``: an X.509 PEM."""
        name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system.gserviceaccount.com")]
        )
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=14))
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode()


def mint(
    key: SigningKey, *, audience: str, email: str, lifetime_s: int = 3600, **overrides: Any
) -> str:
    """A Google-style service-account ID token for ``audience`` and ``email``.

    ``overrides`` replace claims (``None`` removes one), e.g. ``iss="https://evil.example"``.
    """
    now = int(time.time())
    unique_id = str(abs(hash(email)) % 10**21).rjust(21, "1")
    claims: dict[str, Any] = {
        "aud": audience,
        "azp": unique_id,
        "email": email,
        "email_verified": True,
        "exp": now + lifetime_s,
        "iat": now,
        "iss": GOOGLE_ISSUER,
        "sub": unique_id,
        **overrides,
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key.key, "RS256", headers={"kid": key.kid, "typ": "JWT"})


class CertsServer:
    """Serves ``{kid: certificate PEM}`` for ``keys`` on 127.0.0.1 and counts the fetches."""

    def __init__(self, keys: list[SigningKey], max_age_s: int = 3600) -> None:
        self.keys = keys
        self.max_age_s = max_age_s
        self.fetches = 0
        body = json.dumps({k.kid: k.certificate_pem() for k in keys}).encode()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header(
                    "Cache-Control",
                    f"public, max-age={owner.max_age_s}, must-revalidate, no-transform",
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oauth2/v1/certs"

    @contextmanager
    def running(self) -> Iterator[CertsServer]:
        """Serve in a daemon thread while the block runs."""
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
