"""Webhooks (docs/webhooks.md): every status change delivered to customers' servers, signed in the
Standard Webhooks format and retried.

- ``endpoints``: the endpoints users (and admins, org-wide) register, their signing secrets;
- ``fanout``: the outbox consumer that turns each committed event into one delivery per
  matching endpoint, each with its own Cloud Task on the ``webhooks`` queue;
- ``delivery``: one attempt of one delivery (the ``webhook_delivery`` function), its record, the
  next attempt, the endpoint's health;
- ``guard`` and ``transport``: which URLs and addresses may be called, and the call itself;
- ``signing``: secrets and signatures.
"""
