"""The publisher: runs one attempt of one target per Cloud Tasks delivery
(docs/semantics.md#the-publisher)."""
