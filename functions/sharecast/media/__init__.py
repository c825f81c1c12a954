"""Media uploads, confirmation, reading for publishers, and cleanup (docs/api.md#media)."""
