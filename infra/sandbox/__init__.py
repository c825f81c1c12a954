"""A local stand-in for the social networks' publishing APIs (see ``README.md``).

Same request and response shapes as the real APIs, so the connectors run unchanged against it
with only their base URL changed. ``python -m infra.sandbox`` serves it; tests use
:func:`infra.sandbox.app.create_app` and :class:`infra.sandbox.server.SandboxServer`.
"""
