"""``python -m infra.storagecors``: a CORS-answering front for the local Storage emulator.

Browsers upload media straight to Cloud Storage with a V4 signed URL (``PUT``), and read it back
with a signed read URL. In production the bucket's CORS configuration (``terraform/storage.tf``,
from ``cors_origins``) answers the preflight; the local emulator (``gcp-storage-emulator``)
answers ``OPTIONS`` with 501 and sends no ``Access-Control-*`` header, so a browser cannot upload.
This front listens on its own port (signed URLs point at it through ``MEDIA_URL_ENDPOINT``),
answers preflights the way Cloud Storage does for a bucket CORS entry, and forwards every other
request to the emulator unchanged, streaming bodies both ways (uploads may be 1 GiB).

Cloud Storage's CORS behaviour: https://cloud.google.com/storage/docs/cross-origin — an allowed
origin gets ``Access-Control-Allow-Origin`` (the origin itself) on the preflight and the actual
response; ``responseHeader`` names the request headers allowed and the response headers exposed.

Two checks of Cloud Storage the emulator skips are made here, for ``PUT`` (uploads):

- A header named in the URL's ``X-Goog-SignedHeaders`` but missing from the request is refused
  with 403 ``SignatureDoesNotMatch``, as Cloud Storage does (the signature covers those headers'
  values; https://cloud.google.com/storage/docs/authentication/canonical-requests). The
  signature itself is not verified.
- ``x-goog-if-generation-match``: the upload proceeds only if the object's generation is the
  given one (``0``: no live object), else 412 ``PreconditionFailed``
  (https://cloud.google.com/storage/docs/request-preconditions, error body as in
  https://cloud.google.com/storage/docs/xml-api/reference-status). Uploads to one object are
  serialized while the generation is checked, so two racing ``PUT``s cannot both pass.

Loopback only, local stack only: never deployed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

#: Methods and headers of the bucket CORS entry (``terraform/storage.tf`` mirrors them).
METHODS = ("PUT", "GET", "HEAD")
RESPONSE_HEADERS = (
    "Content-Type",
    "x-goog-content-length-range",
    "x-goog-if-generation-match",
    "ETag",
)
GENERATION_MATCH = "x-goog-if-generation-match"
PRECONDITION_FAILED = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>PreconditionFailed</Code>"
    "<Message>At least one of the pre-conditions you specified did not hold.</Message></Error>"
)
SIGNATURE_MISMATCH = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code>"
    "<Message>The request signature we calculated does not match the signature you provided."
    " Check your Google secret key and signing method.</Message></Error>"
)
MAX_AGE_S = 3600
#: Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded in either direction.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)


def _allowed_request_headers(requested: str) -> list[str] | None:
    """The requested headers when each is allowed (``responseHeader``, ``x-goog-*``), else None."""
    names = [h.strip() for h in requested.split(",") if h.strip()]
    allowed = {h.lower() for h in RESPONSE_HEADERS}
    ok = all(n.lower() in allowed or n.lower().startswith("x-goog-") for n in names)
    return names if ok else None


def missing_signed_headers(request: Request) -> list[str]:
    """Headers the URL's ``X-Goog-SignedHeaders`` names that the request does not send."""
    signed = request.query_params.get("X-Goog-SignedHeaders", "")
    return [h for h in signed.split(";") if h and h != "host" and h not in request.headers]


async def live_generation(client: httpx.AsyncClient, path: str) -> int:
    """The generation of the live object at XML path ``/{bucket}/{object}``, 0 for none."""
    bucket, _, name = path.lstrip("/").partition("/")
    found = await client.get(f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}")
    if found.status_code == 404:
        return 0
    found.raise_for_status()
    return int(found.json().get("generation") or 0)


def xml_error(status: int, body: str, headers: dict[str, str]) -> Response:
    """A Cloud Storage XML API error answer."""
    return Response(body, status_code=status, media_type="application/xml", headers=headers)


def create_app(upstream: str, origins: list[str]) -> Starlette:
    """The front ASGI app forwarding to ``upstream`` (``http://127.0.0.1:PORT``) and allowing
    the browser ``origins`` (exact ``scheme://host[:port]``)."""
    allowed = frozenset(origins)
    state: dict[str, httpx.AsyncClient] = {}
    uploads: dict[str, asyncio.Lock] = {}

    def cors_headers(request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin not in allowed:
            return {}
        return {
            "Access-Control-Allow-Origin": origin or "",
            "Access-Control-Expose-Headers": ", ".join(RESPONSE_HEADERS),
            "Vary": "Origin",
        }

    async def preflight(request: Request) -> Response:
        method = request.headers.get("access-control-request-method", "")
        headers = _allowed_request_headers(
            request.headers.get("access-control-request-headers", "")
        )
        cors = cors_headers(request)
        if not cors or method not in METHODS or headers is None:
            # Cloud Storage answers a refused preflight 200 without CORS headers: the browser
            # then blocks the request.
            return Response(status_code=200, headers={"Vary": "Origin"})
        return Response(
            status_code=200,
            headers={
                **cors,
                "Access-Control-Allow-Methods": ", ".join(METHODS),
                "Access-Control-Allow-Headers": ", ".join(headers),
                "Access-Control-Max-Age": str(MAX_AGE_S),
            },
        )

    async def forward(request: Request) -> Response:
        if request.method == "OPTIONS":
            return await preflight(request)
        if request.method != "PUT":
            return await relay(request)
        if missing_signed_headers(request):
            return xml_error(403, SIGNATURE_MISMATCH, cors_headers(request))
        expected = request.headers.get(GENERATION_MATCH)
        if expected is None:
            return await relay(request)
        lock = uploads.setdefault(request.url.path, asyncio.Lock())
        async with lock:
            if str(await live_generation(state["client"], request.url.path)) != expected.strip():
                return xml_error(412, PRECONDITION_FAILED, cors_headers(request))
            # The emulator stores the whole object before it answers, so the next upload of
            # this path, waiting on the lock, sees its generation.
            return await relay(request)

    async def relay(request: Request) -> Response:
        client = state["client"]
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        has_body = request.method in ("PUT", "POST", "PATCH")
        upstream_request = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query or None,
            headers=headers,
            content=request.stream() if has_body else None,
        )
        response = await client.send(upstream_request, stream=True)
        out = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in ("date", "server")
        }
        out.update(cors_headers(request))
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers=out,
            background=BackgroundTask(response.aclose),
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(30.0, read=300.0, write=300.0)
        async with httpx.AsyncClient(base_url=upstream, timeout=timeout) as client:
            state["client"] = client
            yield

    methods = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/", forward, methods=methods),
            Route("/{path:path}", forward, methods=methods),
        ],
        lifespan=lifespan,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the front on ``--host``/``--port`` in front of ``--upstream``; allowed origins
    come from ``CORS_ALLOWED_ORIGINS`` (comma separated), as for the API and the relay."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m infra.storagecors")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args(argv)
    origins = [o.strip() for o in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",")]
    app = create_app(args.upstream, [o for o in origins if o])
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
