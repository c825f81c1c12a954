"""Headers of every API answer: CORS for the allowlisted origins (``CORS_ALLOWED_ORIGINS``)
and the security headers. The Flask app adds them to its answers; the front
(:mod:`sharecast.api.front`) to the answers it gives before the app runs (413, 408).
"""

from __future__ import annotations

#: Request headers a browser may send cross-origin (tracing headers included: browser tracing
#: tools add W3C Trace Context's ``traceparent``/``tracestate``, https://www.w3.org/TR/trace-context/,
#: or Google's ``X-Cloud-Trace-Context``), and response headers it may read.
CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, Idempotency-Key, traceparent, tracestate, X-Cloud-Trace-Context"
)
CORS_EXPOSE_HEADERS = (
    "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
    "Idempotent-Replayed, WWW-Authenticate"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def common_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """``Vary: Origin``, CORS headers when ``origin`` is allowed, and the security headers."""
    out = {"Vary": "Origin"}
    if origin is not None and origin in allowed:
        out["Access-Control-Allow-Origin"] = origin
        out["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    out.update(SECURITY_HEADERS)
    return out
