"""OAuth connections (docs/api.md#accounts-realtime-and-operations): authorization per network, code
exchange with account discovery, and token refresh serialized per connection.

- :mod:`.errors`: what can go wrong, already mapped to HTTP (API) or to target error codes;
- :mod:`.providers`: one class per network with its documented endpoints and shapes;
- :mod:`.flow`: ``authorize`` (state + PKCE) and ``callback`` (exchange, discovery, store);
- :mod:`.refresh`: a usable access token for the publisher (proactive and forced refresh under
  a per-connection lease; ``needs_reauth`` with a ``notification`` event when it cannot).
"""
