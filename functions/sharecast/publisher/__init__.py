"""The publisher: runs one attempt of one target per Cloud Tasks delivery (SPEC §5)."""
