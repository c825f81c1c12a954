"""`GET /docs`: the OpenAPI document rendered by Swagger UI, served by the API itself.

Swagger UI comes from the pinned PyPI package `swagger-ui-py` (requirements.txt; its
`static/` folder holds Swagger UI's own build, https://github.com/swagger-api/swagger-ui), so
the page needs no CDN: its script, style and the document all come from this origin, and the
page's Content-Security-Policy allows nothing else.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Blueprint, Response

from sharecast.api.routes import PUBLIC, route

#: Where the assets are served: `/docs/assets/swagger-ui-bundle.js`...
ASSETS_PATH = "/docs/assets"
#: Swagger UI's files may use inline styles (React); scripts and data come from here only.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def swagger_ui_folder() -> Path:
    """The `static/` folder of the installed `swagger-ui-py` (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


#: Swagger UI's files at `/docs/assets/<file>` (Flask's static file serving).
assets = Blueprint(
    "docs_assets", __name__, static_folder=str(swagger_ui_folder()), static_url_path=ASSETS_PATH
)
bp = Blueprint("docs", __name__)

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sharecast API</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayRequestDuration: true,
});
"""


@route(
    bp,
    "GET",
    "/docs",
    summary="This API's reference, rendered",
    roles=PUBLIC,
    responses={200: None},
)
def docs_page() -> Response:
    """An HTML page (Swagger UI) rendering `GET /openapi.json`; no token, no CDN."""
    response = Response(PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@route(
    bp,
    "GET",
    "/docs/init.js",
    summary="The script that starts the reference page",
    roles=PUBLIC,
    responses={200: None},
)
def docs_init() -> Response:
    """JavaScript (`text/javascript`) used by `GET /docs`."""
    return Response(INIT_JS, mimetype="text/javascript")
