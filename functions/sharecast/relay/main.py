"""ASGI entry point of the relay for uvicorn (locally) and Cloud Run.

Locally::

    uvicorn sharecast.relay.main:app --app-dir functions --host 127.0.0.1 --port 8090 \
        --timeout-graceful-shutdown 8

On Cloud Run: ``HOST=0.0.0.0 python -m sharecast.relay.main`` (listens on ``$PORT``, same
options). Cloud Run sends SIGTERM, then SIGKILL 10 s later: streams end within about a second of
SIGTERM (see :mod:`sharecast.relay.runtime`), and ``relay_max_stream_s`` must stay below the
service's request timeout. Keep ``--timeout-graceful-shutdown`` below 10 s: uvicorn waits for
every connection to close before the lifespan shutdown deletes the subscription, and a client
that stopped reading keeps its socket open until its unsent bytes drain, i.e. forever.

uvicorn's own log records go through the one JSON handler, and access-log lines lose their query
string: ``?token=`` and ``?auth_token=`` carry credentials and are never logged.
"""

from __future__ import annotations

import os
import sys

from sharecast.clients import get_clients
from sharecast.config import get_settings
from sharecast.logs import route_uvicorn_logs, setup_logging
from sharecast.relay.app import create_app

#: Seconds uvicorn waits for open responses after SIGTERM (below Cloud Run's 10 s).
GRACEFUL_SHUTDOWN_S = 8
#: Seconds a thread may hold the GIL while another waits (CPython's default is 0.005). The
#: Pub/Sub client's threads decode and ack messages in Python; with the default, the event loop
#: waited up to 5 ms for the GIL after each hand-over, which was most of the relay's own
#: delivery latency (see tests/bench/bench_relay.py).
GIL_SWITCH_INTERVAL_S = 0.0005


sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
setup_logging()
route_uvicorn_logs()
app = create_app(get_settings(), get_clients())


def main() -> None:
    """Run the relay with uvicorn on ``$HOST`` (default 127.0.0.1) and ``$PORT`` (8090)."""
    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8090")),
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        log_config=None,
    )


if __name__ == "__main__":
    main()
