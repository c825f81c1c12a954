"""Media uploads, confirmation, reading for publishers, and cleanup (SPEC §4.3)."""
