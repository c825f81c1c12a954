"""The relay: a Cloud Run Server-Sent Events service streaming each user's status events
(docs/semantics.md#events-and-replay).

Modules: ``app`` (routes and lifespan), ``runtime`` (per-instance state), ``stream`` (one SSE
stream: replay then live), ``hub`` (per-user fan-out, no I/O), ``subscription`` (the instance's
own Pub/Sub subscription), ``sse`` (frame encoding), ``auth`` (credentials), ``main`` (ASGI entry).
"""
