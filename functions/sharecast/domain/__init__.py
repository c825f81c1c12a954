"""Pure domain logic: statuses, transitions, retry policy, validation. No I/O here."""
